"""business.yml is validated on load, with errors that name the field."""
from pathlib import Path

import pytest
import yaml

from msgops.business.config import BusinessConfigError, load_business

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load((ROOT / "business.yml").read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "business.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_sample_profile_loads():
    cfg = load_business(ROOT / "business.yml")
    assert cfg.business.timezone == "Europe/Moscow"
    assert cfg.service("general_cleaning").unit == "m2"
    assert cfg.working_hours["sun"] is None
    assert cfg.calls.offer_count in (2, 3)


@pytest.mark.parametrize("mutate, where, what", [
    (lambda d: d["services"][2].pop("price"), "services -> 2 -> price", "field required"),
    (lambda d: d["services"][0].update(price=-5), "services -> 0 -> price", "greater than 0"),
    (lambda d: d["business"].update(timezone="Mars/Olympus"), "business -> timezone", "IANA"),
    (lambda d: d["working_hours"].update(mon=["18:00", "09:00"]), "working_hours", "ends before it starts"),
    (lambda d: d["working_hours"].update(funday=["09:00", "10:00"]), "working_hours", "unknown day"),
    (lambda d: d["services"][1].update(id="general_cleaning"), "services", "used twice"),
    (lambda d: d["services"][0].update(unit="bucket"), "services -> 0 -> unit", "permitted"),
    (lambda d: d["breaks"].append(["13:00"]), "breaks", "HH:MM"),
])
def test_errors_name_the_field(tmp_path, mutate, where, what):
    with pytest.raises(BusinessConfigError) as error:
        load_business(_write(tmp_path, mutate))
    assert where in str(error.value)
    assert what in str(error.value)


def test_missing_secret_leaves_webhook_off(tmp_path, monkeypatch):
    monkeypatch.delenv("MSGOPS_BRIEF_WEBHOOK_URL", raising=False)
    assert load_business(ROOT / "business.yml").manager.webhook_url is None
    monkeypatch.setenv("MSGOPS_BRIEF_WEBHOOK_URL", "http://127.0.0.1:9/briefs")
    assert load_business(ROOT / "business.yml").manager.webhook_url == "http://127.0.0.1:9/briefs"


def test_unreadable_file_is_named(tmp_path):
    with pytest.raises(BusinessConfigError, match="cannot read"):
        load_business(tmp_path / "nope.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("services: [\n", encoding="utf-8")
    with pytest.raises(BusinessConfigError, match="not valid YAML"):
        load_business(bad)
