"""W&B tracking settings: off by default, never part of a run's identity or a stage's key, no key anywhere."""

from repro.launch.stage_runner import stage_key
from repro.launch.wandb_log import summary, tags, wandb_run_id
from repro.runs import plan_run
from repro.stages.env import wandb_env
from repro.spec import WandbSpec
from repro.store import RoleUsage, StageMetrics, StageRecord
from repro.tables.synthetic import synthetic_record


def test_wandb_env_is_empty_when_off_and_never_holds_a_key():
    assert wandb_env(WandbSpec()) == {}
    env = wandb_env(WandbSpec(mode="online", project="p", entity="team"))
    assert env == {"REPRO_WANDB_MODE": "online", "REPRO_WANDB_PROJECT": "p", "REPRO_WANDB_ENTITY": "team"}


def test_tracking_changes_no_run_id_and_no_stage_key(results_root):
    plain = plan_run("dpo", "imdb/smoke", results_root=results_root)
    tracked = plan_run("dpo", "imdb/smoke", overrides=("wandb.mode=offline",), results_root=results_root)
    assert plain.layout.run_id == tracked.layout.run_id and tracked.variant == {}
    for a, b in zip(plain.stages, tracked.stages):
        assert b.env["REPRO_WANDB_MODE"] == "offline" and stage_key(a) == stage_key(b)


def test_summary_and_tags_hand_case():
    rec = StageRecord(name="policy", workdir="/w", status="completed",
                      metrics=StageMetrics(device="cpu", wall_s=2.0, peak_rss_mib=3.0, cpu_s=4.0,
                                           roles={"actor": RoleUsage(peak_pss_mib=5.0, cpu_s=1.5)}))
    assert summary(rec, {"metrics": {"gold/reward_mean": 0.6}}) == {
        "status": "completed", "sampler/wall_s": 2.0, "sampler/peak_rss_mib": 3.0, "sampler/cpu_s": 4.0,
        "roles/actor/peak_pss_mib": 5.0, "roles/actor/cpu_s": 1.5, "gold/reward_mean": 0.6}
    record = synthetic_record("dpo", 2, {})
    record.variant = {"methods.dpo.beta": 0.5}
    assert tags(record) == ["dpo", "seed=2", "imdb", "methods.dpo.beta=0.5"]
    assert wandb_run_id("r", "s", "k") == wandb_run_id("r", "s", "k") != wandb_run_id("r", "s", "k2")
