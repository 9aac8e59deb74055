"""HL104: a per-key `fold` over AtLeastOnce (user, tag) pairs needs idempotent=proof(...)."""

import hydrologic as hl


class Profiles: ...


def build(flow: hl.FlowBuilder) -> None:
    profiles = flow.process(Profiles)
    _, tags = profiles.sim_input(tuple[str, str])
    by_user = tags.weaken_retries().into_keyed()  # the mobile app retries uploads
    by_user.fold(lambda: frozenset[str](), lambda acc, t: acc | {t})  # expect: HL104
