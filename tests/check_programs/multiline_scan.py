"""A misuse in a call chain spread over lines, assigned to an annotated variable.

mypy points at the chain's first line, pyright at the attribute and (strict) at the annotated
variable; `hydrologic check` reports all of them at the `.scan` call, where the builder does.
"""

import hydrologic as hl
from hydrologic import ExactlyOnce, Process, TotalOrder, Unbounded


class Bank: ...


def build(flow: hl.FlowBuilder) -> None:
    bank = flow.process(Bank)
    _, a = bank.sim_input(int)
    _, b = bank.sim_input(int)
    payments = a.merge_unordered(b)
    running: hl.Stream[int, Process[Bank], Unbounded, TotalOrder, ExactlyOnce] = (
        payments
        .map(lambda x: x * 2)
        .scan(lambda: 0, lambda acc, x: acc + x)  # the call: HL101
    )
    running.sim_output()
