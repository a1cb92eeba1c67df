# run imdb-smoke-ppo-s0-d65e892f74 on Slurm (profile partition gpu); job ids are assigned at submission: <stage> stands for that stage's job id

# ===== job world =====
#!/bin/bash

# Parameters
#SBATCH --account=my-project
#SBATCH --constraint='a100|h100'
#SBATCH --cpus-per-task=32
#SBATCH --error=<results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_0_log.err
#SBATCH --exclusive
#SBATCH --gres=gpu:1
#SBATCH --job-name=world
#SBATCH --mem=480GB
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --open-mode=append
#SBATCH --output=<results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_0_log.out
#SBATCH --partition=gpu
#SBATCH --qos=normal
#SBATCH --signal=USR2@60
#SBATCH --time=720
#SBATCH --wckey=submitit

# setup
module load cuda/12.4
source $HOME/venvs/repro/bin/activate
export NCCL_DEBUG=WARN

# command
export SUBMITIT_EXECUTOR=slurm
srun --unbuffered --output <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_%t_log.out --error <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_%t_log.err python -u -m submitit.core._submit <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j
# the job runs stage 'world' in <results>/shared/world-c0ce6a2f7da5:
#   export HF_DATASETS_CACHE=<repo>/.cache/hf_datasets
#   export HF_DATASETS_OFFLINE=1
#   export HF_HUB_OFFLINE=1
#   export MKL_NUM_THREADS=1
#   export OMP_NUM_THREADS=1
#   export PYTHONUNBUFFERED=1
#   export TOKENIZERS_PARALLELISM=false
#   export TRANSFORMERS_OFFLINE=1
#   export WANDB_MODE=disabled
#   python -m repro.worlds.imdb.build --world '{"kind":"imdb","vocab_size":512,"n_gold":2000,"n_sft":512,"n_train_prompts":384,"n_test_prompts":32,"prompt_words":8,"response_words":24}' --model '{"arch":"llama","hidden_size":128,"num_layers":4,"num_heads":4,"intermediate_size":352,"max_position_embeddings":256,"tie_word_embeddings":true}' --seed 0 --out <results>/shared/world-c0ce6a2f7da5

# ===== job sft =====
#!/bin/bash

# Parameters
#SBATCH --account=my-project
#SBATCH --constraint='a100|h100'
#SBATCH --cpus-per-task=32
#SBATCH --dependency='afterok:<world>'
#SBATCH --error=<results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_0_log.err
#SBATCH --exclusive
#SBATCH --gres=gpu:8
#SBATCH --job-name=sft
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --mem=480GB
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --open-mode=append
#SBATCH --output=<results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_0_log.out
#SBATCH --partition=gpu
#SBATCH --qos=normal
#SBATCH --signal=USR2@60
#SBATCH --time=720
#SBATCH --wckey=submitit

# setup
module load cuda/12.4
source $HOME/venvs/repro/bin/activate
export NCCL_DEBUG=WARN
export SLURM_KILL_BAD_EXIT=1

# command
export SUBMITIT_EXECUTOR=slurm
srun --unbuffered --output <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_%t_log.out --error <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_%t_log.err python -u -m submitit.core._submit <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j
# the job runs stage 'sft' in <results>/shared/sft-8251d114c9f9:
#   export HF_DATASETS_CACHE=<repo>/.cache/hf_datasets
#   export HF_DATASETS_OFFLINE=1
#   export HF_HUB_OFFLINE=1
#   export MKL_NUM_THREADS=1
#   export OMP_NUM_THREADS=1
#   export PYTHONUNBUFFERED=1
#   export TOKENIZERS_PARALLELISM=false
#   export TRANSFORMERS_OFFLINE=1
#   export WANDB_MODE=disabled
#   torchrun --nnodes 2 --nproc_per_node 8 --node_rank '${NODE_RANK}' --master_addr '${MASTER_ADDR}' --master_port '${MASTER_PORT}' -m openrlhf.cli.train_sft --model.model_name_or_path <results>/shared/world-c0ce6a2f7da5/base_model --data.dataset <results>/shared/world-c0ce6a2f7da5/data/sft_train.jsonl --data.input_key prompt --data.output_key response --data.input_template '' --train.seed 0 --train.max_epochs 1 --train.batch_size 32 --train.micro_batch_size 16 --data.max_len 64 --ds.zero_stage 2 --ds.param_dtype bf16 --ds.attn_implementation flash_attention_2 --adam.lr 0.001 --lr_warmup_ratio 0.03 --ckpt.output_dir <results>/shared/sft-8251d114c9f9/model --logger.tensorboard_dir <results>/shared/sft-8251d114c9f9/tb --logger.wandb.run_name sft

# ===== job pairs =====
#!/bin/bash

# Parameters
#SBATCH --account=my-project
#SBATCH --constraint='a100|h100'
#SBATCH --cpus-per-task=32
#SBATCH --dependency='afterok:<sft>'
#SBATCH --error=<results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_0_log.err
#SBATCH --exclusive
#SBATCH --gres=gpu:1
#SBATCH --job-name=pairs
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --mem=480GB
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --open-mode=append
#SBATCH --output=<results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_0_log.out
#SBATCH --partition=gpu
#SBATCH --qos=normal
#SBATCH --signal=USR2@60
#SBATCH --time=720
#SBATCH --wckey=submitit

# setup
module load cuda/12.4
source $HOME/venvs/repro/bin/activate
export NCCL_DEBUG=WARN

# command
export SUBMITIT_EXECUTOR=slurm
srun --unbuffered --output <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_%t_log.out --error <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_%t_log.err python -u -m submitit.core._submit <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j
# the job runs stage 'pairs' in <results>/shared/pairs-651b994fb124:
#   export HF_DATASETS_CACHE=<repo>/.cache/hf_datasets
#   export HF_DATASETS_OFFLINE=1
#   export HF_HUB_OFFLINE=1
#   export MKL_NUM_THREADS=1
#   export OMP_NUM_THREADS=1
#   export PYTHONUNBUFFERED=1
#   export TOKENIZERS_PARALLELISM=false
#   export TRANSFORMERS_OFFLINE=1
#   export WANDB_MODE=disabled
#   python -m repro.worlds.imdb.pairs --world <results>/shared/world-c0ce6a2f7da5 --policy <results>/shared/sft-8251d114c9f9/model --pairs '{"samples_per_prompt":8,"pairing":"best_worst","label_temperature":0.02,"test_fraction":0.25}' --generation '{"max_new_tokens":24,"temperature":1.0,"top_k":0,"top_p":1.0,"batch_size":64}' --seed 0 --out <results>/shared/pairs-651b994fb124

# ===== job rm =====
#!/bin/bash

# Parameters
#SBATCH --account=my-project
#SBATCH --constraint='a100|h100'
#SBATCH --cpus-per-task=32
#SBATCH --dependency='afterok:<pairs>'
#SBATCH --error=<results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_0_log.err
#SBATCH --exclusive
#SBATCH --gres=gpu:8
#SBATCH --job-name=rm
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --mem=480GB
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --open-mode=append
#SBATCH --output=<results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_0_log.out
#SBATCH --partition=gpu
#SBATCH --qos=normal
#SBATCH --signal=USR2@60
#SBATCH --time=720
#SBATCH --wckey=submitit

# setup
module load cuda/12.4
source $HOME/venvs/repro/bin/activate
export NCCL_DEBUG=WARN
export SLURM_KILL_BAD_EXIT=1

# command
export SUBMITIT_EXECUTOR=slurm
srun --unbuffered --output <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_%t_log.out --error <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_%t_log.err python -u -m submitit.core._submit <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j
# the job runs stage 'rm' in <results>/shared/rm-83922fd0099e:
#   export HF_DATASETS_CACHE=<repo>/.cache/hf_datasets
#   export HF_DATASETS_OFFLINE=1
#   export HF_HUB_OFFLINE=1
#   export MKL_NUM_THREADS=1
#   export OMP_NUM_THREADS=1
#   export PYTHONUNBUFFERED=1
#   export TOKENIZERS_PARALLELISM=false
#   export TRANSFORMERS_OFFLINE=1
#   export WANDB_MODE=disabled
#   torchrun --nnodes 2 --nproc_per_node 8 --node_rank '${NODE_RANK}' --master_addr '${MASTER_ADDR}' --master_port '${MASTER_PORT}' -m openrlhf.cli.train_rm --model.model_name_or_path <results>/shared/sft-8251d114c9f9/model --data.dataset <results>/shared/pairs-651b994fb124/pairs_train.jsonl --eval.dataset <results>/shared/pairs-651b994fb124/pairs_test.jsonl --data.prompt_key prompt --data.chosen_key chosen --data.rejected_key rejected --data.input_template '' --ds.value_head_prefix score --train.seed 0 --train.max_epochs 3 --train.batch_size 32 --train.micro_batch_size 16 --data.max_len 64 --ds.zero_stage 2 --ds.param_dtype bf16 --ds.attn_implementation flash_attention_2 --adam.lr 0.001 --lr_warmup_ratio 0.03 --ckpt.output_dir <results>/shared/rm-83922fd0099e/model --logger.tensorboard_dir <results>/shared/rm-83922fd0099e/tb --logger.wandb.run_name rm

# ===== job rm-accuracy =====
#!/bin/bash

# Parameters
#SBATCH --account=my-project
#SBATCH --constraint='a100|h100'
#SBATCH --cpus-per-task=32
#SBATCH --dependency='afterok:<rm>'
#SBATCH --error=<results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_0_log.err
#SBATCH --exclusive
#SBATCH --gres=gpu:1
#SBATCH --job-name=rm-accuracy
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --mem=480GB
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --open-mode=append
#SBATCH --output=<results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_0_log.out
#SBATCH --partition=gpu
#SBATCH --qos=normal
#SBATCH --signal=USR2@60
#SBATCH --time=720
#SBATCH --wckey=submitit

# setup
module load cuda/12.4
source $HOME/venvs/repro/bin/activate
export NCCL_DEBUG=WARN

# command
export SUBMITIT_EXECUTOR=slurm
srun --unbuffered --output <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_%t_log.out --error <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_%t_log.err python -u -m submitit.core._submit <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j
# the job runs stage 'rm-accuracy' in <results>/shared/rm-accuracy-83922fd0099e:
#   export HF_DATASETS_CACHE=<repo>/.cache/hf_datasets
#   export HF_DATASETS_OFFLINE=1
#   export HF_HUB_OFFLINE=1
#   export MKL_NUM_THREADS=1
#   export OMP_NUM_THREADS=1
#   export PYTHONUNBUFFERED=1
#   export TOKENIZERS_PARALLELISM=false
#   export TRANSFORMERS_OFFLINE=1
#   export WANDB_MODE=disabled
#   python -m repro.evals.pair_accuracy --model <results>/shared/rm-83922fd0099e/model --kind reward --pairs <results>/shared/pairs-651b994fb124/pairs_test.jsonl --prefix rm --out <results>/shared/rm-accuracy-83922fd0099e/report.json

# ===== job policy =====
#!/bin/bash

# Parameters
#SBATCH --account=my-project
#SBATCH --constraint='a100|h100'
#SBATCH --cpus-per-task=32
#SBATCH --dependency='afterok:<rm>'
#SBATCH --error=<results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_0_log.err
#SBATCH --exclusive
#SBATCH --gres=gpu:8
#SBATCH --job-name=policy
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --mem=480GB
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --open-mode=append
#SBATCH --output=<results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_0_log.out
#SBATCH --partition=gpu
#SBATCH --qos=normal
#SBATCH --signal=USR2@60
#SBATCH --time=720
#SBATCH --wckey=submitit

# setup
module load cuda/12.4
source $HOME/venvs/repro/bin/activate
export NCCL_DEBUG=WARN
export SLURM_KILL_BAD_EXIT=1

# command
export SUBMITIT_EXECUTOR=slurm
srun --unbuffered --output <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_%t_log.out --error <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_%t_log.err python -u -m submitit.core._submit <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j
# the job runs stage 'policy' in <results>/runs/imdb-smoke-ppo-s0-d65e892f74/stages/policy:
#   export HF_DATASETS_CACHE=<repo>/.cache/hf_datasets
#   export HF_DATASETS_OFFLINE=1
#   export HF_HUB_OFFLINE=1
#   export MKL_NUM_THREADS=1
#   export OMP_NUM_THREADS=1
#   export PYTHONUNBUFFERED=1
#   export REPRO_EFFECTIVE_ARGS=<results>/runs/imdb-smoke-ppo-s0-d65e892f74/stages/policy/effective_args.json
#   export TOKENIZERS_PARALLELISM=false
#   export TRANSFORMERS_OFFLINE=1
#   export WANDB_MODE=disabled
#   python -m repro.launch.openrlhf_entry openrlhf.cli.train_ppo_ray --actor.model_name_or_path <results>/shared/sft-8251d114c9f9/model --reward.model_name_or_path <results>/shared/rm-83922fd0099e/model --critic.model_name_or_path <results>/shared/sft-8251d114c9f9/model --data.prompt_dataset <results>/shared/world-c0ce6a2f7da5/data/prompts_train.jsonl --data.input_key prompt --data.input_template '' --data.max_samples 96 --data.max_len 64 --algo.advantage.estimator gae --rollout.n_samples_per_prompt 1 --rollout.batch_size 32 --rollout.micro_batch_size 2 --rollout.max_new_tokens 24 --rollout.temperature 1.0 --rollout.top_p 1.0 --train.batch_size 32 --train.micro_batch_size 16 --train.max_epochs 1 --train.num_episodes 1 --train.seed 0 --actor.adam.lr 0.0003 --actor.lr_warmup_ratio 0.0 --actor.eps_clip 0.2 --algo.kl.init_coef 0.05 --algo.kl.horizon 10000 --algo.kl.estimator k1 --ds.zero_stage 2 --ds.param_dtype bf16 --ckpt.output_dir <results>/runs/imdb-smoke-ppo-s0-d65e892f74/stages/policy/model --ckpt.path <results>/runs/imdb-smoke-ppo-s0-d65e892f74/stages/policy/ckpt --logger.tensorboard_dir <results>/runs/imdb-smoke-ppo-s0-d65e892f74/stages/policy/tb --logger.wandb.run_name gae --actor.num_nodes 2 --ref.num_nodes 2 --critic.num_nodes 2 --reward.num_nodes 2 --actor.num_gpus_per_node 8 --ref.num_gpus_per_node 8 --critic.num_gpus_per_node 8 --reward.num_gpus_per_node 8 --vllm.num_engines 16 --vllm.tensor_parallel_size 1 --vllm.sync_backend nccl --vllm.gpu_memory_utilization 0.5 --train.colocate_all --ds.attn_implementation flash_attention_2 --critic.adam.lr 0.0005 --critic.lr_warmup_ratio 0.0 --critic.value_clip 0.5 --critic.save_value_network --algo.advantage.gamma 1.0 --algo.advantage.lambd 0.95
# with Ray bootstrapped across the allocation (repro/launch/ray_cluster.py):
#   node 0: ray start --head --node-ip-address '${HEAD_IP}' --port '${RAY_PORT}' --include-dashboard=false --num-gpus 8 --num-cpus 32 --disable-usage-stats --block
#   nodes 1-1: ray start --address '${HEAD_IP}:${RAY_PORT}' --num-gpus 8 --num-cpus 32 --disable-usage-stats --block
#   node 0, once 2 nodes and 16 GPUs have joined: RAY_ADDRESS=${HEAD_IP}:${RAY_PORT} <command>
#   node 0, after the command: SIGTERM to the head's process group (by PID), workers exit when it is gone

# ===== job eval-gold =====
#!/bin/bash

# Parameters
#SBATCH --account=my-project
#SBATCH --constraint='a100|h100'
#SBATCH --cpus-per-task=32
#SBATCH --dependency='afterok:<policy>'
#SBATCH --error=<results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_0_log.err
#SBATCH --exclusive
#SBATCH --gres=gpu:1
#SBATCH --job-name=eval-gold
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --mem=480GB
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --open-mode=append
#SBATCH --output=<results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_0_log.out
#SBATCH --partition=gpu
#SBATCH --qos=normal
#SBATCH --signal=USR2@60
#SBATCH --time=720
#SBATCH --wckey=submitit

# setup
module load cuda/12.4
source $HOME/venvs/repro/bin/activate
export NCCL_DEBUG=WARN

# command
export SUBMITIT_EXECUTOR=slurm
srun --unbuffered --output <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_%t_log.out --error <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j/%j_%t_log.err python -u -m submitit.core._submit <results>/runs/imdb-smoke-ppo-s0-d65e892f74/slurm/%j
# the job runs stage 'eval-gold' in <results>/runs/imdb-smoke-ppo-s0-d65e892f74/stages/eval-gold:
#   export HF_DATASETS_CACHE=<repo>/.cache/hf_datasets
#   export HF_DATASETS_OFFLINE=1
#   export HF_HUB_OFFLINE=1
#   export MKL_NUM_THREADS=1
#   export OMP_NUM_THREADS=1
#   export PYTHONUNBUFFERED=1
#   export TOKENIZERS_PARALLELISM=false
#   export TRANSFORMERS_OFFLINE=1
#   export WANDB_MODE=disabled
#   python -m repro.evals.gold_score --world <results>/shared/world-c0ce6a2f7da5 --policy <results>/runs/imdb-smoke-ppo-s0-d65e892f74/stages/policy/model --reference <results>/shared/sft-8251d114c9f9/model --eval '{"evaluators":["gold"],"n_prompts":32,"samples_per_prompt":2}' --generation '{"max_new_tokens":24,"temperature":1.0,"top_k":0,"top_p":1.0,"batch_size":64}' --seed 0 --out <results>/runs/imdb-smoke-ppo-s0-d65e892f74/stages/eval-gold
