"""HL105: `Singleton.flat_map_ordered` needs a Bounded singleton; a live running maximum is Unbounded."""

import hydrologic as hl


class Allocator: ...


def build(flow: hl.FlowBuilder) -> None:
    allocator = flow.process(Allocator)
    _, requests = allocator.sim_input(int)
    highest = requests.fold(lambda: 0, lambda hi, n: max(hi, n))
    highest.flat_map_ordered(lambda n: range(n))  # expect: HL105
