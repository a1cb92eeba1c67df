# run imdb-smoke-dpo-s0-d071f340fc on Slurm (profile partition gpu); job ids are assigned at submission: <stage> stands for that stage's job id

# ===== job world =====
#!/bin/bash

# Parameters
#SBATCH --account=my-project
#SBATCH --constraint='a100|h100'
#SBATCH --cpus-per-task=32
#SBATCH --error=<results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j/%j_0_log.err
#SBATCH --exclusive
#SBATCH --gres=gpu:1
#SBATCH --job-name=world
#SBATCH --mem=480GB
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --open-mode=append
#SBATCH --output=<results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j/%j_0_log.out
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
srun --unbuffered --output <results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j/%j_%t_log.out --error <results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j/%j_%t_log.err python -u -m submitit.core._submit <results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j
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
#SBATCH --error=<results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j/%j_0_log.err
#SBATCH --exclusive
#SBATCH --gres=gpu:8
#SBATCH --job-name=sft
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --mem=480GB
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --open-mode=append
#SBATCH --output=<results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j/%j_0_log.out
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
srun --unbuffered --output <results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j/%j_%t_log.out --error <results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j/%j_%t_log.err python -u -m submitit.core._submit <results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j
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
#SBATCH --error=<results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j/%j_0_log.err
#SBATCH --exclusive
#SBATCH --gres=gpu:1
#SBATCH --job-name=pairs
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --mem=480GB
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --open-mode=append
#SBATCH --output=<results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j/%j_0_log.out
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
srun --unbuffered --output <results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j/%j_%t_log.out --error <results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j/%j_%t_log.err python -u -m submitit.core._submit <results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j
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

# ===== job dpo =====
#!/bin/bash

# Parameters
#SBATCH --account=my-project
#SBATCH --constraint='a100|h100'
#SBATCH --cpus-per-task=32
#SBATCH --dependency='afterok:<pairs>'
#SBATCH --error=<results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j/%j_0_log.err
#SBATCH --exclusive
#SBATCH --gres=gpu:8
#SBATCH --job-name=dpo
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --mem=480GB
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --open-mode=append
#SBATCH --output=<results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j/%j_0_log.out
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
srun --unbuffered --output <results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j/%j_%t_log.out --error <results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j/%j_%t_log.err python -u -m submitit.core._submit <results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j
# the job runs stage 'dpo' in <results>/runs/imdb-smoke-dpo-s0-d071f340fc/stages/dpo:
#   export HF_DATASETS_CACHE=<repo>/.cache/hf_datasets
#   export HF_DATASETS_OFFLINE=1
#   export HF_HUB_OFFLINE=1
#   export MKL_NUM_THREADS=1
#   export OMP_NUM_THREADS=1
#   export PYTHONUNBUFFERED=1
#   export TOKENIZERS_PARALLELISM=false
#   export TRANSFORMERS_OFFLINE=1
#   export WANDB_MODE=disabled
#   torchrun --nnodes 2 --nproc_per_node 8 --node_rank '${NODE_RANK}' --master_addr '${MASTER_ADDR}' --master_port '${MASTER_PORT}' -m openrlhf.cli.train_dpo --model.model_name_or_path <results>/shared/sft-8251d114c9f9/model --ref.model_name_or_path <results>/shared/sft-8251d114c9f9/model --data.dataset <results>/shared/pairs-651b994fb124/pairs_train.jsonl --data.prompt_key prompt --data.chosen_key chosen --data.rejected_key rejected --data.input_template '' --model.beta 0.1 --model.label_smoothing 0.0 --model.nll_loss_coef 0.0 --train.seed 0 --train.max_epochs 1 --train.batch_size 32 --train.micro_batch_size 16 --data.max_len 64 --ds.zero_stage 2 --ds.param_dtype bf16 --ds.attn_implementation flash_attention_2 --adam.lr 0.0005 --lr_warmup_ratio 0.03 --ckpt.output_dir <results>/runs/imdb-smoke-dpo-s0-d071f340fc/stages/dpo/model --logger.tensorboard_dir <results>/runs/imdb-smoke-dpo-s0-d071f340fc/stages/dpo/tb --logger.wandb.run_name dpo

# ===== job eval-gold =====
#!/bin/bash

# Parameters
#SBATCH --account=my-project
#SBATCH --constraint='a100|h100'
#SBATCH --cpus-per-task=32
#SBATCH --dependency='afterok:<dpo>'
#SBATCH --error=<results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j/%j_0_log.err
#SBATCH --exclusive
#SBATCH --gres=gpu:1
#SBATCH --job-name=eval-gold
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --mem=480GB
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --open-mode=append
#SBATCH --output=<results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j/%j_0_log.out
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
srun --unbuffered --output <results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j/%j_%t_log.out --error <results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j/%j_%t_log.err python -u -m submitit.core._submit <results>/runs/imdb-smoke-dpo-s0-d071f340fc/slurm/%j
# the job runs stage 'eval-gold' in <results>/runs/imdb-smoke-dpo-s0-d071f340fc/stages/eval-gold:
#   export HF_DATASETS_CACHE=<repo>/.cache/hf_datasets
#   export HF_DATASETS_OFFLINE=1
#   export HF_HUB_OFFLINE=1
#   export MKL_NUM_THREADS=1
#   export OMP_NUM_THREADS=1
#   export PYTHONUNBUFFERED=1
#   export TOKENIZERS_PARALLELISM=false
#   export TRANSFORMERS_OFFLINE=1
#   export WANDB_MODE=disabled
#   python -m repro.evals.gold_score --world <results>/shared/world-c0ce6a2f7da5 --policy <results>/runs/imdb-smoke-dpo-s0-d071f340fc/stages/dpo/model --reference <results>/shared/sft-8251d114c9f9/model --eval '{"evaluators":["gold"],"n_prompts":32,"samples_per_prompt":2}' --generation '{"max_new_tokens":24,"temperature":1.0,"top_k":0,"top_p":1.0,"batch_size":64}' --seed 0 --out <results>/runs/imdb-smoke-dpo-s0-d071f340fc/stages/eval-gold
