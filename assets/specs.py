"""Asset specs for a step that writes several tables (one multi-asset, one spec a table)."""

import dagster as dg


def table_specs(
    group: str,
    deps: list,
    descriptions: dict[str, str],
    kinds: frozenset[str] = frozenset({"parquet"}),
) -> list[dg.AssetSpec]:
    """One spec per table key, all in `group` with the same upstream `deps`."""
    return [
        dg.AssetSpec(key, group_name=group, kinds=set(kinds), deps=deps, description=text)
        for key, text in descriptions.items()
    ]
