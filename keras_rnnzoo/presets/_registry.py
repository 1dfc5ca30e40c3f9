"""The built-in presets, as data (keras-hub's ``<model>_presets.py``).

Each entry: the preset directory shipped inside the package
(``keras_rnnzoo/presets/builtin/<name>``) and a one-line description. Its
``metadata.json`` holds the rest: task, data, metrics with their split, the
exact training command and hyper-parameters. Every built-in preset is the
output directory of one run of a ``training/`` script.
"""

import os

BUILTIN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "builtin")

_DESCRIPTIONS = {
    "asrnn_copy_t100_h138": "asRNN (dtriv, K = M = 100), H 138, copy task delay 100, "
                            "convention A (asRNN's setting, CPU scale: 1,500 steps)",
    "exprnn_copy_t100_h190": "expRNN (modReLU), H 190, copy task delay 100, convention A",
    "urlstm_copyc_t100_h128": "UR-LSTM, H 128, copy task delay 100, convention C (Gu et al.: "
                              "loss on the last 10 steps)",
    "urlstm_adding_t200_h64": "UR-LSTM, H 64, adding problem N = 200 (Gu et al.)",
    "gru_pe_reverse_l16_v1024_h128": "GRU with Morita's sinusoidal positional encoding, "
                                     "H = d_e = 128, reverse ordering L 16, V 1,024",
    "gru_reverse_l16_v1024_h128": "GRU without positional encoding (the control), "
                                  "H = d_e = 128, reverse ordering L 16, V 1,024",
    "stable_rnn_jsb_h128": "Stable RNN (sigma_max(W_hh) <= 1), H 128, JSB chorales "
                           "(Miller & Hardt's setting: SGD 0.05, clip 5, batch 1; 5 passes)",
    "spectral_gru_nottingham_h128": "Spectrally clipped GRU (delta 0.2), H 128, Nottingham, "
                                    "inputs x 0.01 (Kanai et al.), 2 passes",
}

BUILTIN_PRESETS = {
    name: {"path": os.path.join(BUILTIN_DIR, name), "description": description}
    for name, description in _DESCRIPTIONS.items()
}

# Per-cell training defaults of each training script's task, as data: the
# papers' settings (see each script's docstring). "*" is every other cell.
# The orthogonal cells' free parameters train at --recurrent-lr, by default
# lr / 10 (the papers' rule).
_ORTHOGONAL_COPY = dict(hidden=190, lr=2e-4, clipnorm=0.0, optimizer="rmsprop")
_ORTHOGONAL_ADDING = dict(lr=2e-4, clipnorm=0.0, optimizer="rmsprop")


def _image(hidden, lr, clipnorm, optimizer, rho=0.9):
    """Pixel MNIST / sCIFAR-10 defaults; they also fix the flags the image scripts
    leave to this table (RMSprop alpha; asRNN's static exprnn mode, eps 0.01, s at
    a = b = 0.02, Cayley init of A: the asRNN code's MNIST setting)."""
    return dict(hidden=hidden, lr=lr, clipnorm=clipnorm, optimizer=optimizer, rmsprop_rho=rho,
                asrnn_mode="exprnn", epsilon=0.01, asrnn_a=0.02, asrnn_b=0.02,
                orthogonal_init="cayley")


def _image_table(lr, lstm=True):
    """A pixel task's table: asrnn.md section 6, the 16k-parameter rows at the
    orthogonal cells' learning rate ``lr`` (sMNIST 7e-4, pMNIST 1e-3); dtriv and
    scoRNN as expRNN; the LSTM's RMSprop row (``lstm``); the gated cells Adam
    1e-3, clip 1 (Gu et al.)."""
    orthogonal = _image(170, lr, 0.0, "rmsprop")
    table = {"asrnn": _image(122, lr, 10.0, "rmsprop", rho=0.99),
             **dict.fromkeys(("exprnn", "dtriv", "scornn"), orthogonal),
             "*": _image(128, 1e-3, 1.0, "adam")}
    if lstm:
        table["lstm"] = _image(128, 1e-3, 1.0, "rmsprop")
    return table


TRAINING_DEFAULTS = {
    "copy_memory": {  # asrnn.md section 6; Gu et al. for the gated cells
        "asrnn": dict(hidden=138, lr=2e-4, clipnorm=10.0, optimizer="rmsprop"),
        "exprnn": _ORTHOGONAL_COPY,
        "dtriv": _ORTHOGONAL_COPY,
        "scornn": _ORTHOGONAL_COPY,
        "lstm": dict(hidden=68, lr=1e-3, clipnorm=1.0, optimizer="rmsprop"),
        "rnn": dict(hidden=64, lr=1e-3, clipnorm=1.0, optimizer="rmsprop"),
        "*": dict(hidden=128, lr=1e-3, clipnorm=1.0, optimizer="adam"),
    },
    "adding": {  # Gu et al.'s small configuration; the orthogonal cells' own optimiser
        "asrnn": dict(_ORTHOGONAL_ADDING, clipnorm=10.0),
        "exprnn": _ORTHOGONAL_ADDING,
        "dtriv": _ORTHOGONAL_ADDING,
        "scornn": _ORTHOGONAL_ADDING,
        "*": dict(lr=1e-3, clipnorm=1.0, optimizer="adam"),
    },
    "reverse_ordering": {"*": {}},  # Morita's settings are the script's flag defaults
    "music": {"*": {}},  # Miller & Hardt's JSB row: the script's flag defaults
    "ptb": {  # Adam with a global clip for CPU runs; the papers' settings are the _paper recipes
        "asrnn": dict(lr=1e-3, clipnorm=1.0, optimizer="rmsprop", rmsprop_rho=0.99,
                      asrnn_mode="exprnn", orthogonal_init="cayley", asrnn_a=0.8, asrnn_b=3.0,
                      epsilon=0.0),
        "exprnn": dict(lr=1e-3, clipnorm=1.0, optimizer="rmsprop", orthogonal_init="cayley"),
        "*": dict(lr=2e-3, clipnorm=1.0, optimizer="adam"),
    },
    "wikitext": {"*": dict(lr=2e-3, clipnorm=1.0, optimizer="adam")},  # as "ptb" word level
    # Miller & Hardt's slot-filling row of Table 2 (RNN and LSTM alike; 100 epochs and
    # batch 128 are the script's defaults); weight decay: the optimiser's (decoupled,
    # = PyTorch SGD's weight_decay without momentum), dropout: on the tagger's input
    "atis": {"*": dict(hidden=128, embedding_dim=64, output_dropout=0.5, weight_decay=1e-4,
                       lr=10.0, clipnorm=1.0, optimizer="sgd")},
    "pixel_mnist": _image_table(7e-4),
    "permuted_mnist": _image_table(1e-3),
    # no published orthogonal-cell settings for sCIFAR-10: pMNIST's; Gu et al. otherwise
    "seq_cifar": _image_table(1e-3, lstm=False),
}
