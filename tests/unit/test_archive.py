"""`repro archive` keeps completed records in a committed folder; tables pool them with live runs."""

from typer.testing import CliRunner

from repro.archive import archive_records, pooled_records
from repro.cli import app
from repro.store import list_records
from repro.tables.synthetic import synthetic_record
from repro.tables.write import write_tables

GOLD = {"gold/reward_mean": 0.6, "gold/win_rate_vs_sft": 0.6, "gold/kl_to_sft": 5.0}


def save_live(root, rec):
    path = root / "runs" / rec.run_id / "record.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rec.model_dump_json())


def test_only_completed_records_are_archived_and_an_older_copy_never_replaces_a_newer(tmp_path):
    done, failed = synthetic_record("dpo", 0, GOLD), synthetic_record("dpo", 1, {}, status="failed")
    written = archive_records([done, failed], tmp_path / "arch")
    assert [p.parent.name for p in written] == [done.run_id]
    assert archive_records([done], tmp_path / "arch") == []  # same record again: nothing to write
    newer = done.model_copy(update={"updated_at": "2026-02-01T00:00:00+00:00", "metrics": {**GOLD, "x": 1.0}})
    assert len(archive_records([newer], tmp_path / "arch")) == 1
    assert archive_records([done], tmp_path / "arch") == []  # the older one does not come back
    (kept,) = list_records(tmp_path / "arch")
    assert kept.metrics["x"] == 1.0 and kept.updated_at == newer.updated_at  # archived as is, not re-stamped


def test_tables_pool_an_archived_seed_with_a_live_one(tmp_path):
    live, arch = tmp_path / "results", tmp_path / "arch"
    archive_records([synthetic_record("dpo", 0, {**GOLD, "gold/reward_mean": 0.60})], arch)
    save_live(live, synthetic_record("dpo", 1, {**GOLD, "gold/reward_mean": 0.70}))
    stale = synthetic_record("dpo", 0, {**GOLD, "gold/reward_mean": 0.10})
    stale.updated_at = "2025-01-01T00:00:00+00:00"  # an older copy of the archived run, left in the live root
    save_live(live, stale)
    assert [r.metrics["gold/reward_mean"] for r in pooled_records([live, arch])] == [0.60, 0.70]
    (scores, *_) = write_tables(live, None, ["md"], None, archives=(arch,))
    assert "| dpo | 2 | 0.650 ± 0.071 |" in scores
    (alone, *_) = write_tables(live, None, ["md"], None)
    assert "| dpo | 2 | 0.400 ± 0.424 |" in alone  # without the archive: the stale copy and the live seed


def test_archive_command_copies_one_settings_completed_runs(tmp_path):
    live = tmp_path / "results"
    save_live(live, synthetic_record("dpo", 0, GOLD))
    save_live(live, synthetic_record("ppo", 0, GOLD, setting="other"))
    r = CliRunner().invoke(app, ["archive", "-r", "imdb", "--to", str(tmp_path / "arch"), "--results", str(live)])
    assert r.exit_code == 0, r.output
    assert "archived 1 record(s)" in r.output
    assert [x.setting for x in list_records(tmp_path / "arch")] == ["imdb"]
