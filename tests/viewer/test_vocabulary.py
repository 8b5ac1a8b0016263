"""The bottom layer's vocabularies: region sections per study kind, "did you mean", the version lookup."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError

import pytest

from viewer import version as version_module
from viewer.colors import REGION_COLORS
from viewer.names import close_names, did_you_mean, unknown_name
from viewer.regions import CT_REGIONS, CXR_REGIONS, REGION_NAMES, SECTIONS, regions_for, study_kinds


def test_regions_follow_design_section_4() -> None:
    assert study_kinds() == ("ct", "cxr") == tuple(sorted(SECTIONS))
    # Reg2RG's order: "The region 7" of its prompts is the trachea and bronchi.
    assert CT_REGIONS.index("trachea and bronchi") + 1 == 7 and len(CT_REGIONS) == 10
    assert regions_for("ct")[: len(CT_REGIONS)] == CT_REGIONS  # a CT section without a mask comes after
    assert regions_for("cxr") == CXR_REGIONS and CXR_REGIONS[-1] == "other"
    with pytest.raises(ValueError, match="unknown study kind 'mr'; expected 'ct' or 'cxr'"):
        regions_for("mr")


def test_every_region_name_has_its_colour() -> None:
    assert len(REGION_NAMES) == len(set(REGION_NAMES)) == 15  # 10 + 10 with 5 shared names
    assert REGION_NAMES[0] == "abdomen" and set(REGION_COLORS) == set(REGION_NAMES)


def test_close_names_fold_case_and_separators() -> None:
    choices = ("soft tissue", "lung", "threshold-ct", "llava-rad")
    assert close_names("Lugn", choices) == ["lung"]
    assert close_names("SOFT_TISSUE", choices) == ["soft tissue"]
    assert close_names("threshold_ct", choices) == ["threshold-ct"]
    assert close_names("zzzz", choices) == []
    assert did_you_mean("llava_rad", choices) == "; did you mean 'llava-rad'?"
    assert did_you_mean("zzzz", choices) == ""


def test_unknown_name_message() -> None:
    assert unknown_name("export format", "lava", ("llava", "sft")) == \
        "unknown export format 'lava'; did you mean 'llava'? (available: llava, sft)"
    assert unknown_name("region", "brain", ("lungs", "heart")) == \
        "unknown region 'brain' (available: lungs, heart)"


def test_version_from_the_installed_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import version

    version_module.package_version.cache_clear()
    assert version_module.package_version() == version("radreview")

    def missing(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(version_module, "version", missing)
    version_module.package_version.cache_clear()
    try:
        assert version_module.package_version() == version_module.SOURCE_TREE_VERSION == "0.0.0+src"
    finally:
        version_module.package_version.cache_clear()
