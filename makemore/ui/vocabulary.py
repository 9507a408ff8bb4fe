"""The API's vocabulary: every parameter name a named endpoint or MCP tool takes, with what it means.

One name for one thing on every endpoint: `run_id` for a run, `dataset` for a data set. An endpoint whose
parameter is not listed here is refused when the page is built (ui/common.py check_vocabulary), and a test
reads /gradio_api/info against this list. README "API" is written from it.
"""

VOCABULARY = {
    # what the request is about
    "run_id": "a run's id (from list_models, /list_runs or a share link ?run=<id>), e.g. \"names-transformer\"",
    "run_ids": "several run ids",
    "dataset": "a data set's name (from list_datasets), e.g. \"names\"",
    "path": "a file to upload: .txt (UTF-8, one example per line), or a table: .csv, .tsv or .jsonl",
    "text_column": "a table's column of lines to learn (blank: the one obvious text column, e.g. \"name\")",
    "label_column": "a table's column of labels, so the model learns lines per label (blank: a column \"label\" "
                    "if there is one, else none)",
    "label": "for a run trained on a labelled data set: lines of this label (blank: any label)",
    "name": "a run's new human name (1 to 60 printable characters)",
    "published": "true: in the gallery, readable by anyone with the link; false: private again",
    "workspace": "your key from /new_workspace (on a public server; ignored locally)",
    "include_training_lines": "true: the exported page ships the training lines, hashed, for 'only new'",
    # how to train
    "arch": "the architecture: bigram, mlp, cnn, rnn, lstm, gru, bow or transformer",
    "n_layer": "layers", "n_head": "attention heads", "n_embd": "embedding size", "n_embd2": "hidden size",
    "context": "characters of context (mlp, bow)", "dropout": "dropout, 0 to 0.9",
    "learning_rate": "AdamW's peak learning rate", "batch_size": "lines per step", "weight_decay": "AdamW's decay",
    "amount": "how long to train, in `unit`s", "unit": "\"seconds\" or \"steps\"",
    "seconds": "a time budget in seconds", "max_steps": "a new step limit (0 or null: keep)",
    "time_budget": "a new time budget in seconds (0 or null: keep)",
    "seed": "the random seed (the same seed, the same result)",
    "eval_interval": "evaluate every N steps (0: automatic)",
    "shown_for": "the page's own: the architecture whose values the form shows (API clients: leave blank)",
    "start_from": "a run id to fine-tune from (its architecture, shape and weights); blank: a fresh model",
    # how to sample
    "temperature": "above 0, at most 10: 1 samples as trained, lower is safer, higher bolder",
    "top_k": "keep the k likeliest characters (0: off)", "top_p": "keep the likeliest characters up to this mass (1: off)",
    "num_samples": "how many lines", "prefix": "the text every line starts with",
    "text": "a line of text (to score, or an idea on the shortlist)",
    "x_axis": "\"seconds\" or \"step\"",
    # ideas and the shortlist
    "count": "how many ideas, 1 to 1000", "only_new": "true: never a line of the training data",
    "min_len": "the shortest idea, in characters", "max_len": "the longest idea, in characters (null or 0: any)",
    "starts_with": "every idea starts with this", "ends_with": "every idea ends with this",
    "contains": "every idea contains this", "exclude": "characters no idea may use",
    "rank": "\"logprob\" (likeliest first) or \"diverse\"", "case": "\"as-is\", \"lower\", \"title\" or \"upper\"",
    "score": "an idea's score from generate_ideas", "is_new": "whether an idea is new (not in the training data)",
    "with_weights_only": "true: only runs with saved weights",
    # looking inside
    "line": "the line to look at (blank: a line of the run's own data set)", "top_n": "how many next-character choices",
    "top_units": "how many hidden units to show", "rank_by": "\"activity\" or \"change\"",
}
