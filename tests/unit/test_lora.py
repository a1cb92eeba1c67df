"""LoRA as the official DVPO scripts train it: flags, the plan, the rollout engine's mirror, the merge."""

import pytest

from repro.errors import RecipeError
from repro.runs import plan_run
from repro.spec import LoraSpec
from repro.stages.openrlhf import lora_flags, render_flags

torch = pytest.importorskip("torch")

OFFICIAL = ("rl.lora.rank=16", "rl.lora.alpha=32", "rl.lora.dropout=0.05",
            "methods.dvpo.gvm.lora.rank=8", "methods.dvpo.gvm.lora.alpha=32")


def test_lora_flags_leave_all_linear_to_openrlhfs_string_default():
    assert lora_flags(None, 3, "rl") == {}
    assert render_flags(lora_flags(LoraSpec(rank=16, alpha=32, dropout=0.05), 2, "rl")) == [
        "--ds.lora.rank", "16", "--ds.lora.alpha", "32", "--ds.lora.dropout", "0.05"]
    assert render_flags(lora_flags(LoraSpec(rank=8, target_modules=["q_proj", "v_proj"]), 1, "rl"))[-3:] == [
        "--ds.lora.target_modules", "q_proj", "v_proj"]


def test_dvpo_plan_trains_adapters_merges_them_and_evaluates_the_merged_policy(results_root):
    plain = plan_run("dvpo", "imdb/smoke", results_root=results_root)
    plan = plan_run("dvpo", "imdb/smoke", overrides=OFFICIAL, results_root=results_root)
    stages = {s.name: s for s in plan.stages}
    assert "--ds.lora.rank" not in {a for s in plain.stages for a in s.argv}  # full fine-tuning renders as before
    policy, gvm, merge = stages["policy"].argv, stages["gvm"].argv, stages["policy-merge"]
    assert policy[policy.index("--ds.lora.rank") + 1] == "16" and gvm[gvm.index("--ds.lora.rank") + 1] == "8"
    assert stages["policy"].env["REPRO_HOOKS"] == "dvpo.openrlhf_hooks:install,repro.lora.sync:install"
    assert merge.needs == ["policy"] and merge.argv[merge.argv.index("--trained") + 1] == stages["policy"].workdir
    evaluation = stages["eval-gold"].argv
    assert evaluation[evaluation.index("--policy") + 1] == f"{merge.workdir}/model"
    assert stages["eval-gold"].needs == ["policy-merge"]
    assert plan.layout.run_id != plain.layout.run_id  # a LoRA run is its own variant


def test_a_lora_learning_curve_reads_the_merged_snapshots(results_root):
    plan = plan_run("dvpo", "imdb/smoke", overrides=(*OFFICIAL, "eval.every_steps=1"), results_root=results_root)
    stages = {s.name: s for s in plan.stages}
    curve = stages["curve-gold"].argv
    assert curve[curve.index("--snapshots") + 1] == f"{stages['policy-merge'].workdir}/ckpt"
    assert curve[curve.index("--train-dir") + 1] == stages["policy"].workdir  # timings: the training stage's


def test_lora_is_refused_where_openrlhf_cannot_train_it(results_root):
    with pytest.raises(RecipeError, match="critic"):
        plan_run("ppo", "imdb/smoke", overrides=("rl.lora.rank=16",), results_root=results_root)
    with pytest.raises(RecipeError, match="ZeRO-3"):
        plan_run("grpo", "imdb/smoke", overrides=("rl.lora.rank=16", "rl.zero_stage=3"), results_root=results_root)
    with pytest.raises(RecipeError, match="methods.dvpo.gvm.lora needs methods.dvpo.gvm.zero_stage"):
        plan_run("dvpo", "imdb/smoke", overrides=("methods.dvpo.gvm.lora.rank=8", "methods.dvpo.gvm.zero_stage=3"),
                 results_root=results_root)
    grpo = {s.name: s for s in plan_run("grpo", "imdb/smoke", overrides=("rl.lora.rank=16",),
                                        results_root=results_root).stages}
    assert grpo["policy"].env["REPRO_HOOKS"] == "repro.lora.sync:install" and "policy-merge" in grpo


@pytest.fixture
def tiny_base(tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
    from tokenizers import Tokenizer, models

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=2))
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({f"w{i}": i for i in range(32)},
                                                                             unk_token="w0")))
    model.save_pretrained(tmp_path / "base")
    tok.save_pretrained(tmp_path / "base")
    return tmp_path / "base", tok


def trained_adapter(base_path, tok, out, seed):
    """An adapter as OpenRLHF's actor saves it: PEFT-wrapped causal LM, non-zero B (as after training)."""
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoModelForCausalLM

    peft = get_peft_model(AutoModelForCausalLM.from_pretrained(base_path),
                          LoraConfig(task_type=TaskType.CAUSAL_LM, r=4, lora_alpha=8, target_modules="all-linear"))
    torch.manual_seed(seed)
    for name, p in peft.named_parameters():
        if "lora_B" in name:
            p.data.normal_(0, 0.5)
    peft.save_pretrained(out)
    tok.save_pretrained(out)
    return peft


def test_merge_writes_base_plus_adapter_for_the_final_policy_and_every_snapshot(tiny_base, tmp_path):
    from transformers import AutoModelForCausalLM

    from repro.lora.merge import main

    base, tok = tiny_base
    trained = tmp_path / "policy"
    final = trained_adapter(base, tok, trained / "model", 1).eval()
    for step in (10, 2):
        trained_adapter(base, tok, trained / "ckpt" / f"global_step{step}_hf", step)
    main(["--base", str(base), "--trained", str(trained), "--out", str(tmp_path / "merged")])
    ids = torch.tensor([[1, 5, 7, 2]])
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged" / "model").eval()
    plain = AutoModelForCausalLM.from_pretrained(base).eval()
    with torch.no_grad():
        assert torch.allclose(merged(ids).logits, final(ids).logits, atol=1e-5)
        assert not torch.allclose(merged(ids).logits, plain(ids).logits, atol=1e-3)  # the adapter did something
    assert sorted(p.name for p in (tmp_path / "merged" / "ckpt").iterdir()) == ["global_step10_hf", "global_step2_hf"]
    assert not any(p.name.endswith(".tmp") for p in (tmp_path / "merged").rglob("*"))


def test_merge_refuses_a_full_model(tiny_base, tmp_path):
    from repro.lora.merge import main

    base, _ = tiny_base
    with pytest.raises(SystemExit, match="not LoRA adapters"):
        main(["--base", str(base), "--trained", str(base.parent), "--out", str(tmp_path / "m")])


def peft_actor(base_path):
    """The actor as OpenRLHF 0.11.2 builds it with --ds.lora.rank 4 --ds.lora.alpha 8, adapters made non-zero."""
    from openrlhf.models import Actor

    actor = Actor(str(base_path), attn_implementation="eager", param_dtype="bf16", lora_rank=4, lora_alpha=8,
                  lora_dropout=0.05, target_modules="all-linear")
    torch.manual_seed(3)
    for name, p in actor.model.named_parameters():
        if "lora_B" in name:
            p.data.normal_(0, 0.5)
    return actor


def test_merged_named_parameters_are_the_plain_models_names_and_the_merged_weights(tiny_base, openrlhf_shims):
    from transformers import AutoModelForCausalLM

    from repro.lora.sync import merged_named_parameters

    base, _ = tiny_base
    actor = peft_actor(base)
    before = {n: p.clone() for n, p in actor.model.named_parameters()}
    sent = dict(merged_named_parameters(actor.model))
    plain = AutoModelForCausalLM.from_pretrained(base, dtype=torch.bfloat16)
    assert {n: p.shape for n, p in sent.items()} == {n: p.shape for n, p in plain.named_parameters()}
    q = "model.layers.0.self_attn.q_proj"
    layer = actor.model.get_submodule(f"base_model.model.{q}")
    by_hand = layer.base_layer.weight + (layer.lora_B["default"].weight @ layer.lora_A["default"].weight) * (8 / 4)
    assert torch.allclose(sent[f"{q}.weight"].float(), by_hand.float(), atol=2e-2)
    assert not torch.equal(sent[f"{q}.weight"], layer.base_layer.weight)
    assert torch.equal(sent["model.norm.weight"], plain.get_parameter("model.norm.weight"))  # no adapter: as is
    assert all(torch.equal(p, before[n]) for n, p in actor.model.named_parameters())  # the actor untouched


def test_sync_hook_sends_merged_weights_through_openrlhfs_own_path_then_restores(tiny_base, openrlhf_shims):
    from types import SimpleNamespace

    from repro.lora.sync import broadcast_merged

    base, _ = tiny_base
    actor = peft_actor(base)
    seen = []

    def openrlhf_broadcast(trainer):  # what OpenRLHF's method reads: actor.model.module.named_parameters()
        seen.append([n for n, _ in trainer.actor.model.module.named_parameters()])

    trainer = SimpleNamespace(actor=SimpleNamespace(model=SimpleNamespace(module=actor.model)),
                              strategy=SimpleNamespace(args=SimpleNamespace(ds=SimpleNamespace(zero_stage=2))))
    broadcast_merged(openrlhf_broadcast)(trainer)
    assert seen[0] and not any("lora_" in n or "base_layer" in n or n.startswith("base_model") for n in seen[0])
    assert any("lora_A" in n for n, _ in actor.model.named_parameters())  # the instance override is gone
    trainer.strategy.args.ds.zero_stage = 3
    with pytest.raises(RuntimeError, match="zero_stage < 3"):
        broadcast_merged(openrlhf_broadcast)(trainer)


def test_openrlhfs_weight_sync_reads_what_the_hook_overrides(openrlhf_shims):
    """The hook relies on these two lines of OpenRLHF 0.11.2's method; another version must fail here."""
    import inspect

    from openrlhf.trainer.ray.ppo_actor import ActorPPOTrainer

    from repro.lora import sync

    sync.install()
    sync.install()  # idempotent: driver and workers may both run it
    assert ActorPPOTrainer.broadcast_to_vllm.repro_lora_merged
    source = inspect.getsource(ActorPPOTrainer.broadcast_to_vllm.__closure__[0].cell_contents)
    assert "model = self.actor.model.module" in source and "model.named_parameters()" in source
