"""Fix for HL104: set union is idempotent; pass idempotent=proof(...)."""

import hydrologic as hl
from hydrologic import proof


class Profiles: ...


def build(flow: hl.FlowBuilder) -> None:
    profiles = flow.process(Profiles)
    _, tags = profiles.sim_input(tuple[str, str])
    by_user = tags.weaken_retries().into_keyed()  # the mobile app retries uploads
    by_user.fold(lambda: frozenset[str](), lambda acc, t: acc | {t}, idempotent=proof("adding a tag twice changes nothing"))
