"""The CLI's own behaviour: help, listing, validation errors, dry runs (no training)."""

from typer.testing import CliRunner

from repro.cli import app

runner = CliRunner()


def test_help_of_every_command_runs():
    for cmd in ([], ["ls"], ["validate"], ["run"], ["status"], ["bench"], ["tables"]):
        result = runner.invoke(app, [*cmd, "--help"])
        assert result.exit_code == 0, (cmd, result.output)


def test_ls_lists_methods_recipes_worlds():
    assert "dpo" in runner.invoke(app, ["ls", "methods"]).output
    assert "imdb/smoke" in runner.invoke(app, ["ls", "recipes"]).output
    assert "imdb" in runner.invoke(app, ["ls", "worlds"]).output
    assert "gold" in runner.invoke(app, ["ls", "evaluators"]).output


def test_unknown_method_exit_code_and_suggestion(results_root):
    result = runner.invoke(app, ["run", "--method", "dpoo", "--dry-run"])
    assert result.exit_code == 2 and "Did you mean 'dpo'" in result.output


def test_bad_override_exit_code(results_root):
    result = runner.invoke(app, ["validate", "imdb", "sft.lrr=1"])
    assert result.exit_code == 2 and "sft.lrr" in result.output


def test_dry_run_prints_every_stage_and_writes_nothing(results_root):
    result = runner.invoke(app, ["run", "--method", "dpo", "--recipe", "imdb/smoke", "--dry-run"])
    assert result.exit_code == 0
    for stage in ("world", "sft", "pairs", "dpo", "eval-gold"):
        assert f"# --- stage {stage}" in result.output
    assert "openrlhf.cli.train_dpo" in result.output and "export OMP_NUM_THREADS=1" in result.output
    assert not results_root.exists()

