# run llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545 on Slurm (profile partition gpu); job ids are assigned at submission: <stage> stands for that stage's job id

# ===== job world =====
#!/bin/bash

# Parameters
#SBATCH --account=my-project
#SBATCH --constraint='a100|h100'
#SBATCH --cpus-per-task=64
#SBATCH --error=<results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_0_log.err
#SBATCH --exclusive
#SBATCH --gres=gpu:1
#SBATCH --job-name=world
#SBATCH --mem=960GB
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --open-mode=append
#SBATCH --output=<results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_0_log.out
#SBATCH --partition=gpu
#SBATCH --qos=normal
#SBATCH --signal=USR2@60
#SBATCH --time=2160
#SBATCH --wckey=submitit

# setup
module load cuda/12.4
source $HOME/venvs/repro/bin/activate
export NCCL_DEBUG=WARN

# command
export SUBMITIT_EXECUTOR=slurm
srun --unbuffered --output <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_%t_log.out --error <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_%t_log.err python -u -m submitit.core._submit <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j
# the job runs stage 'world' in <results>/shared/world-2d44689f9ec2:
#   export HF_DATASETS_CACHE=<repo>/.cache/hf_datasets
#   export HF_DATASETS_OFFLINE=1
#   export HF_HUB_OFFLINE=1
#   export MKL_NUM_THREADS=8
#   export OMP_NUM_THREADS=8
#   export PYTHONUNBUFFERED=1
#   export TOKENIZERS_PARALLELISM=false
#   export TRANSFORMERS_OFFLINE=1
#   export WANDB_MODE=disabled
#   python -m repro.worlds.ultrafeedback.prepare --world '{"kind":"ultrafeedback","source":{"format":"binarized","path":null,"name":"HuggingFaceH4/ultrafeedback_binarized","revision":"3949bf5f8c17c394422ccfab0c31ea9c20bdeb85","split":"train_prefs"},"n_rl_prompts":10000,"n_test_prompts":1000,"n_pairs_test":1000}' --model '{"id":"meta-llama/Llama-3.2-3B","revision":"13afe5124825b4f3751f836b40dafda64c1ed062","path":null}' --seed 0 --out <results>/shared/world-2d44689f9ec2

# ===== job sft =====
#!/bin/bash

# Parameters
#SBATCH --account=my-project
#SBATCH --constraint='a100|h100'
#SBATCH --cpus-per-task=64
#SBATCH --dependency='afterok:<world>'
#SBATCH --error=<results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_0_log.err
#SBATCH --exclusive
#SBATCH --gres=gpu:8
#SBATCH --job-name=sft
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --mem=960GB
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --open-mode=append
#SBATCH --output=<results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_0_log.out
#SBATCH --partition=gpu
#SBATCH --qos=normal
#SBATCH --signal=USR2@60
#SBATCH --time=2160
#SBATCH --wckey=submitit

# setup
module load cuda/12.4
source $HOME/venvs/repro/bin/activate
export NCCL_DEBUG=WARN

# command
export SUBMITIT_EXECUTOR=slurm
srun --unbuffered --output <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_%t_log.out --error <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_%t_log.err python -u -m submitit.core._submit <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j
# the job runs stage 'sft' in <results>/shared/sft-5ae701524480:
#   export HF_DATASETS_CACHE=<repo>/.cache/hf_datasets
#   export HF_DATASETS_OFFLINE=1
#   export HF_HUB_OFFLINE=1
#   export MKL_NUM_THREADS=8
#   export OMP_NUM_THREADS=8
#   export PYTHONUNBUFFERED=1
#   export TOKENIZERS_PARALLELISM=false
#   export TRANSFORMERS_OFFLINE=1
#   export WANDB_MODE=disabled
#   deepspeed --num_gpus 8 --module openrlhf.cli.train_sft --model.model_name_or_path <results>/shared/world-2d44689f9ec2/base_model --data.dataset <results>/shared/world-2d44689f9ec2/data/sft_train.jsonl --data.input_key prompt --data.output_key response --data.input_template '' --train.seed 0 --train.max_epochs 1 --train.batch_size 128 --train.micro_batch_size 2 --data.max_len 2048 --ds.zero_stage 1 --ds.param_dtype bf16 --ds.attn_implementation flash_attention_2 --adam.lr 2e-05 --lr_warmup_ratio 0.03 --ckpt.output_dir <results>/shared/sft-5ae701524480/model --logger.tensorboard_dir <results>/shared/sft-5ae701524480/tb --logger.wandb.run_name sft --ckpt.save_steps 50 --ckpt.path <results>/shared/sft-5ae701524480/ckpt --ckpt.max_num 2 --ckpt.load_enable

# ===== job pairs =====
#!/bin/bash

# Parameters
#SBATCH --account=my-project
#SBATCH --constraint='a100|h100'
#SBATCH --cpus-per-task=64
#SBATCH --dependency='afterok:<world>,afterok:<sft>'
#SBATCH --error=<results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_0_log.err
#SBATCH --exclusive
#SBATCH --gres=gpu:1
#SBATCH --job-name=pairs
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --mem=960GB
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --open-mode=append
#SBATCH --output=<results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_0_log.out
#SBATCH --partition=gpu
#SBATCH --qos=normal
#SBATCH --signal=USR2@60
#SBATCH --time=2160
#SBATCH --wckey=submitit

# setup
module load cuda/12.4
source $HOME/venvs/repro/bin/activate
export NCCL_DEBUG=WARN

# command
export SUBMITIT_EXECUTOR=slurm
srun --unbuffered --output <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_%t_log.out --error <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_%t_log.err python -u -m submitit.core._submit <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j
# the job runs stage 'pairs' in <results>/shared/pairs-5e9b9aa558f8:
#   export HF_DATASETS_CACHE=<repo>/.cache/hf_datasets
#   export HF_DATASETS_OFFLINE=1
#   export HF_HUB_OFFLINE=1
#   export MKL_NUM_THREADS=8
#   export OMP_NUM_THREADS=8
#   export PYTHONUNBUFFERED=1
#   export TOKENIZERS_PARALLELISM=false
#   export TRANSFORMERS_OFFLINE=1
#   export WANDB_MODE=disabled
#   python -m repro.worlds.ultrafeedback.expose --world <results>/shared/world-2d44689f9ec2 --out <results>/shared/pairs-5e9b9aa558f8

# ===== job gvm =====
#!/bin/bash

# Parameters
#SBATCH --account=my-project
#SBATCH --constraint='a100|h100'
#SBATCH --cpus-per-task=64
#SBATCH --dependency='afterok:<pairs>'
#SBATCH --error=<results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_0_log.err
#SBATCH --exclusive
#SBATCH --gres=gpu:8
#SBATCH --job-name=gvm
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --mem=960GB
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --open-mode=append
#SBATCH --output=<results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_0_log.out
#SBATCH --partition=gpu
#SBATCH --qos=normal
#SBATCH --signal=USR2@60
#SBATCH --time=2160
#SBATCH --wckey=submitit

# setup
module load cuda/12.4
source $HOME/venvs/repro/bin/activate
export NCCL_DEBUG=WARN

# command
export SUBMITIT_EXECUTOR=slurm
srun --unbuffered --output <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_%t_log.out --error <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_%t_log.err python -u -m submitit.core._submit <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j
# the job runs stage 'gvm' in <results>/shared/gvm-593984e7d425:
#   export HF_DATASETS_CACHE=<repo>/.cache/hf_datasets
#   export HF_DATASETS_OFFLINE=1
#   export HF_HUB_OFFLINE=1
#   export MKL_NUM_THREADS=8
#   export OMP_NUM_THREADS=8
#   export PYTHONUNBUFFERED=1
#   export TOKENIZERS_PARALLELISM=false
#   export TRANSFORMERS_OFFLINE=1
#   export WANDB_MODE=disabled
#   deepspeed --num_gpus 8 --module dvpo.gvm.train --gvm.config '{"lr":0.0000141,"epochs":1,"batch_size":32,"micro_batch_size":4,"max_len":2048,"zero_stage":1,"param_dtype":"bf16","warmup_ratio":0.03,"max_samples":null,"targets":"td_lambda","returns":"preference","head_init":"zero","gamma":1.0,"lambd":0.95,"inner_epochs":2}' --gvm.test_pairs <results>/shared/pairs-5e9b9aa558f8/pairs_test.jsonl --gvm.report <results>/shared/gvm-593984e7d425/report.json --model.model_name_or_path <results>/shared/sft-5ae701524480/model --data.dataset <results>/shared/pairs-5e9b9aa558f8/pairs_train.jsonl --ds.value_head_prefix score --train.seed 0 --train.max_epochs 1 --train.batch_size 32 --train.micro_batch_size 4 --data.max_len 2048 --ds.zero_stage 1 --ds.param_dtype bf16 --ds.attn_implementation flash_attention_2 --adam.lr 1.41e-05 --lr_warmup_ratio 0.03 --ckpt.output_dir <results>/shared/gvm-593984e7d425/model --logger.tensorboard_dir <results>/shared/gvm-593984e7d425/tb --logger.wandb.run_name gvm --ckpt.save_steps 50 --ckpt.path <results>/shared/gvm-593984e7d425/ckpt --ckpt.max_num 2 --ckpt.load_enable

# ===== job policy =====
#!/bin/bash

# Parameters
#SBATCH --account=my-project
#SBATCH --constraint='a100|h100'
#SBATCH --cpus-per-task=64
#SBATCH --dependency='afterok:<gvm>'
#SBATCH --error=<results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_0_log.err
#SBATCH --exclusive
#SBATCH --gres=gpu:8
#SBATCH --job-name=policy
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --mem=960GB
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --open-mode=append
#SBATCH --output=<results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_0_log.out
#SBATCH --partition=gpu
#SBATCH --qos=normal
#SBATCH --signal=USR2@60
#SBATCH --time=2160
#SBATCH --wckey=submitit

# setup
module load cuda/12.4
source $HOME/venvs/repro/bin/activate
export NCCL_DEBUG=WARN

# command
export SUBMITIT_EXECUTOR=slurm
srun --unbuffered --output <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_%t_log.out --error <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_%t_log.err python -u -m submitit.core._submit <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j
# the job runs stage 'policy' in <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/stages/policy:
#   export HF_DATASETS_CACHE=<repo>/.cache/hf_datasets
#   export HF_DATASETS_OFFLINE=1
#   export HF_HUB_OFFLINE=1
#   export MKL_NUM_THREADS=8
#   export OMP_NUM_THREADS=8
#   export PYTHONUNBUFFERED=1
#   export REPRO_DVPO_ADVANTAGE=gae_frozen_v
#   export REPRO_DVPO_ADVANTAGE_WHITENING=trl
#   export REPRO_DVPO_FROZEN_MODELS=one_process
#   export REPRO_DVPO_VALUE_WHITENING=official_chunk:1
#   export REPRO_EFFECTIVE_ARGS=<results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/stages/policy/effective_args.json
#   export REPRO_GVM_DIGEST=<results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/stages/policy/gvm_digest.json
#   export REPRO_HOOKS=dvpo.openrlhf_hooks:install
#   export TOKENIZERS_PARALLELISM=false
#   export TRANSFORMERS_OFFLINE=1
#   export WANDB_MODE=disabled
#   python -m repro.launch.openrlhf_entry openrlhf.cli.train_ppo_ray --actor.model_name_or_path <results>/shared/sft-5ae701524480/model --reward.remote_url <repo>/dvpo/zero_reward.py --critic.model_name_or_path <results>/shared/gvm-593984e7d425/model --data.prompt_dataset <results>/shared/world-2d44689f9ec2/data/prompts_train.jsonl --data.input_key prompt --data.input_template '' --data.max_len 2048 --algo.advantage.estimator gae --rollout.n_samples_per_prompt 1 --rollout.batch_size 16 --rollout.micro_batch_size 2 --rollout.max_new_tokens 640 --rollout.temperature 1.0 --rollout.top_p 1.0 --train.batch_size 16 --train.micro_batch_size 1 --train.max_epochs 4 --train.num_episodes 1 --train.seed 0 --actor.adam.lr 2e-06 --actor.lr_warmup_ratio 0.0 --actor.eps_clip 0.2 --algo.kl.init_coef 0.2 --algo.kl.target 6.0 --algo.kl.horizon 10000 --algo.kl.estimator k1 --ds.zero_stage 1 --ds.param_dtype bf16 --ckpt.output_dir <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/stages/policy/model --ckpt.path <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/stages/policy/ckpt --logger.tensorboard_dir <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/stages/policy/tb --logger.wandb.run_name gae --actor.num_nodes 1 --ref.num_nodes 1 --critic.num_nodes 1 --reward.num_nodes 1 --actor.num_gpus_per_node 8 --ref.num_gpus_per_node 8 --critic.num_gpus_per_node 8 --reward.num_gpus_per_node 8 --vllm.num_engines 8 --vllm.tensor_parallel_size 1 --vllm.sync_backend nccl --vllm.gpu_memory_utilization 0.5 --train.colocate_all --ds.attn_implementation flash_attention_2 --critic.save_value_network --algo.advantage.gamma 1.0 --algo.advantage.lambd 0.95 --ckpt.save_steps 50 --ckpt.max_num 2 --ckpt.load_enable

# ===== job eval-mt_bench =====
#!/bin/bash

# Parameters
#SBATCH --account=my-project
#SBATCH --constraint='a100|h100'
#SBATCH --cpus-per-task=64
#SBATCH --dependency='afterok:<policy>'
#SBATCH --error=<results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_0_log.err
#SBATCH --exclusive
#SBATCH --gres=gpu:1
#SBATCH --job-name=eval-mt_bench
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --mem=960GB
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --open-mode=append
#SBATCH --output=<results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_0_log.out
#SBATCH --partition=gpu
#SBATCH --qos=normal
#SBATCH --signal=USR2@60
#SBATCH --time=2160
#SBATCH --wckey=submitit

# setup
module load cuda/12.4
source $HOME/venvs/repro/bin/activate
export NCCL_DEBUG=WARN

# command
export SUBMITIT_EXECUTOR=slurm
srun --unbuffered --output <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_%t_log.out --error <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_%t_log.err python -u -m submitit.core._submit <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j
# the job runs stage 'eval-mt_bench' in <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/stages/eval-mt_bench:
#   export HF_DATASETS_CACHE=<repo>/.cache/hf_datasets
#   export HF_DATASETS_OFFLINE=1
#   export HF_HUB_OFFLINE=1
#   export MKL_NUM_THREADS=8
#   export OMP_NUM_THREADS=8
#   export PYTHONUNBUFFERED=1
#   export TOKENIZERS_PARALLELISM=false
#   export TRANSFORMERS_OFFLINE=1
#   export WANDB_MODE=disabled
#   python -m repro.evals.judge_bench_run mt_bench --policy <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/stages/policy/model --config '{"python":"/opt/fastchat-venv/bin/python","data_dir":"/opt/FastChat/fastchat/llm_judge/data","model_id":"repro-policy","judge_model":"gpt-4","judge_api_base":null,"parallel":4,"max_new_token":1024,"dtype":"bfloat16"}' --out <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/stages/eval-mt_bench

# ===== job eval-arena_hard =====
#!/bin/bash

# Parameters
#SBATCH --account=my-project
#SBATCH --constraint='a100|h100'
#SBATCH --cpus-per-task=64
#SBATCH --dependency='afterok:<policy>'
#SBATCH --error=<results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_0_log.err
#SBATCH --exclusive
#SBATCH --gres=gpu:1
#SBATCH --job-name=eval-arena_hard
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --mem=960GB
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --open-mode=append
#SBATCH --output=<results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_0_log.out
#SBATCH --partition=gpu
#SBATCH --qos=normal
#SBATCH --signal=USR2@60
#SBATCH --time=2160
#SBATCH --wckey=submitit

# setup
module load cuda/12.4
source $HOME/venvs/repro/bin/activate
export NCCL_DEBUG=WARN

# command
export SUBMITIT_EXECUTOR=slurm
srun --unbuffered --output <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_%t_log.out --error <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_%t_log.err python -u -m submitit.core._submit <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j
# the job runs stage 'eval-arena_hard' in <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/stages/eval-arena_hard:
#   export HF_DATASETS_CACHE=<repo>/.cache/hf_datasets
#   export HF_DATASETS_OFFLINE=1
#   export HF_HUB_OFFLINE=1
#   export MKL_NUM_THREADS=8
#   export OMP_NUM_THREADS=8
#   export PYTHONUNBUFFERED=1
#   export TOKENIZERS_PARALLELISM=false
#   export TRANSFORMERS_OFFLINE=1
#   export WANDB_MODE=disabled
#   python -m repro.evals.judge_bench_run arena_hard --policy <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/stages/policy/model --config '{"python":"/opt/arena-hard-venv/bin/python","repo_dir":"/opt/arena-hard-auto","data_dir":null,"bench_name":"arena-hard-v0.1","model_id":"repro-policy","judge_model":"gpt-4-1106-preview","judge_api_base":null,"baseline_model":"gpt-4-0314","parallel":8,"max_tokens":4096,"serve_python":null,"serve_port":8000,"serve_timeout_s":900,"chat_template":null}' --out <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/stages/eval-arena_hard

# ===== job eval-alpaca_eval_api =====
#!/bin/bash

# Parameters
#SBATCH --account=my-project
#SBATCH --constraint='a100|h100'
#SBATCH --cpus-per-task=64
#SBATCH --dependency='afterok:<policy>'
#SBATCH --error=<results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_0_log.err
#SBATCH --exclusive
#SBATCH --gres=gpu:1
#SBATCH --job-name=eval-alpaca_eval_api
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --mem=960GB
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --open-mode=append
#SBATCH --output=<results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_0_log.out
#SBATCH --partition=gpu
#SBATCH --qos=normal
#SBATCH --signal=USR2@60
#SBATCH --time=2160
#SBATCH --wckey=submitit

# setup
module load cuda/12.4
source $HOME/venvs/repro/bin/activate
export NCCL_DEBUG=WARN

# command
export SUBMITIT_EXECUTOR=slurm
srun --unbuffered --output <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_%t_log.out --error <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j/%j_%t_log.err python -u -m submitit.core._submit <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/slurm/%j
# the job runs stage 'eval-alpaca_eval_api' in <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/stages/eval-alpaca_eval_api:
#   export HF_DATASETS_CACHE=<repo>/.cache/hf_datasets
#   export HF_DATASETS_OFFLINE=1
#   export HF_HUB_OFFLINE=1
#   export MKL_NUM_THREADS=8
#   export OMP_NUM_THREADS=8
#   export PYTHONUNBUFFERED=1
#   export TOKENIZERS_PARALLELISM=false
#   export TRANSFORMERS_OFFLINE=1
#   export WANDB_MODE=disabled
#   python -m repro.evals.alpaca_eval_api_run --world <results>/shared/world-2d44689f9ec2 --policy <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/stages/policy/model --reference <results>/shared/sft-5ae701524480/model --eval '{"evaluators":["mt_bench","arena_hard","alpaca_eval_api"],"n_prompts":256,"samples_per_prompt":1,"mt_bench":{"python":"/opt/fastchat-venv/bin/python","data_dir":"/opt/FastChat/fastchat/llm_judge/data","model_id":"repro-policy","judge_model":"gpt-4","judge_api_base":null,"parallel":4,"max_new_token":1024,"dtype":"bfloat16"},"arena_hard":{"python":"/opt/arena-hard-venv/bin/python","repo_dir":"/opt/arena-hard-auto","data_dir":null,"bench_name":"arena-hard-v0.1","model_id":"repro-policy","judge_model":"gpt-4-1106-preview","judge_api_base":null,"baseline_model":"gpt-4-0314","parallel":8,"max_tokens":4096,"serve_python":null,"serve_port":8000,"serve_timeout_s":900,"chat_template":null},"alpaca_eval_api":{"annotator":"weighted_alpaca_eval_gpt4_turbo","judge_model":null,"judge_api_base":null,"judge_name":null,"reference_outputs":"/opt/alpaca_eval/alpaca_eval_gpt4_baseline.json","max_instances":null,"max_new_tokens":2048,"length_controlled":true,"parallel":8}}' --generation '{"max_new_tokens":640,"temperature":1.0,"top_k":0,"top_p":1.0,"batch_size":64}' --seed 0 --out <results>/runs/llama3.2-3b-base-ultrafeedback-dvpo-s0-8a013a2545/stages/eval-alpaca_eval_api
