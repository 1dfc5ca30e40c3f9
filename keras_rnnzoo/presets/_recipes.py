"""The papers' training settings, as data: ``--preset NAME_paper`` reruns them.

A recipe is a preset without weights: the script and the hyper-parameters
(flag destinations of that script) of one row of a paper's table, with the
source in its description. ``python training/<script> --preset NAME`` trains
it (flags given beside it win); ``python -m keras_rnnzoo.presets list
--recipes`` lists them. Most take hours to days on a GPU at full scale; the
CPU-scale runs in ``benchmarks/results/`` use the same scripts with smaller
sizes.
"""

_ASRNN_IMAGE = dict(cell="asrnn", hidden=122, optimizer="rmsprop", rmsprop_rho=0.99,
                    clipnorm=10.0, asrnn_mode="exprnn", orthogonal_init="cayley",
                    asrnn_a=0.02, asrnn_b=0.02, epsilon=0.01, batch_size=128, passes=70)
_EXPRNN_IMAGE = dict(cell="exprnn", hidden=170, optimizer="rmsprop", rmsprop_rho=0.9,
                     clipnorm=0.0, orthogonal_init="cayley", batch_size=128, passes=70)
_LSTM_IMAGE = dict(cell="lstm", hidden=128, optimizer="rmsprop", rmsprop_rho=0.9, lr=1e-3,
                   clipnorm=1.0, batch_size=128, passes=70)
_UR_IMAGE = dict(cell="urlstm", hidden=256, optimizer="adam", lr=1e-3, clipnorm=1.0,
                 batch_size=64, passes=100)
_PTBC = dict(level="char", embedding_dim=200, bptt=150, batch_size=128, eval_batch_size=10,
             optimizer="rmsprop", clipnorm=0.0, lr_plateau_factor=0.5, lr_plateau_patience=0,
             steps=26100, log_every=261)  # 100 passes of 261 windows
_MH_CHAR = dict(level="char", bptt=150, embedding_dim=400, batch_size=80, optimizer="sgd",
                clipnorm=1.0, output_dropout=0.1, weight_decay=1e-6, steps=124200,
                log_every=414)  # 300 passes of 414 windows (80 columns)
_MH_WT2 = dict(version=2, bptt=35, batch_size=20, optimizer="sgd", lr_plateau_factor=0.25,
               steps=119320, log_every=2983)  # 40 passes (2,088,628 tokens / 20 / 35)
_KANAI = dict(level="word", cell="spectral_gru", delta=0.2, hidden=650, embedding_dim=650,
              input_scale=0.01, dropout=0.5, output_dropout=0.5, bptt=35, batch_size=20,
              optimizer="sgd", lr=1.0, clipnorm=0.0, lr_decay=1.1, lr_decay_start=10,
              steps=99525, log_every=1327)  # 75 passes of 1,327 windows
_MH_ATIS = dict(hidden=128, embedding_dim=64, output_dropout=0.5, weight_decay=1e-4,
                batch_size=128, optimizer="sgd", lr=10.0, clipnorm=1.0)
_MH_JSB = dict(dataset="jsb", hidden=1024, batch_size=1, optimizer="sgd", clipnorm=5.0,
               dropout=0.1, steps=22900, log_every=229)  # 100 passes of 229 chorales

RECIPES = {
    # asRNN (asrnn.md section 6; official Hyperparameter.md): 16k-parameter rows
    "asrnn_smnist_h122_paper": ("pixel_mnist.py", dict(_ASRNN_IMAGE, lr=7e-4),
                                "asRNN H 122 on pixel MNIST: RMSprop 7e-4 (A at lr/10), alpha 0.99, "
                                "clip 10, static exp, Cayley init, a = b = 0.02, eps 0.01, 70 "
                                "epochs (paper: 98.89 % best test accuracy)"),
    "asrnn_pmnist_h122_paper": ("pixel_mnist.py", dict(_ASRNN_IMAGE, lr=1e-3, permute=True),
                                "asRNN H 122 on permuted MNIST: as smnist with lr 1e-3 (paper: "
                                "95.41 %)"),
    "exprnn_pmnist_h170_paper": ("pixel_mnist.py", dict(_EXPRNN_IMAGE, lr=1e-3, permute=True),
                                 "expRNN H 170 on permuted MNIST, RMSprop 1e-3 (A at 1e-4), "
                                 "alpha 0.9, no clip, 70 epochs (the asRNN README's baseline)"),
    "lstm_pmnist_h128_paper": ("pixel_mnist.py", dict(_LSTM_IMAGE, permute=True),
                               "LSTM H 128 on permuted MNIST, RMSprop 1e-3, clip 1 (the asRNN "
                               "README's baseline)"),
    "urlstm_pmnist_h256_paper": ("pixel_mnist.py", dict(_UR_IMAGE, permute=True),
                                 "UR-LSTM on permuted MNIST: Adam 1e-3, batch 64, 100 epochs "
                                 "(Gu et al.; H 256 is their synthetic tasks' size, the pixel "
                                 "tasks' is not recorded; 96.96 % probable)"),
    "urlstm_scifar_h256_paper": ("seq_cifar.py", dict(_UR_IMAGE),
                                 "UR-LSTM on sequential CIFAR-10: Adam 1e-3, batch 64, 100 "
                                 "epochs (Gu et al.; H not recorded; no published number)"),
    "asrnn_ptbc_h1024_paper": ("ptb.py", dict(
        _PTBC, cell="asrnn", hidden=1024, lr=1e-3, recurrent_lr=1e-4, rmsprop_rho=0.99,
        asrnn_mode="exprnn", orthogonal_init="cayley", asrnn_a=0.8, asrnn_b=3.0, epsilon=0.0),
        "asRNN H 1024 on PTB characters, BPTT 150, embedding 200, RMSprop 1e-3 (A 1e-4), alpha "
        "0.99, no clip, lr x 0.5 on a non-improving validation, 100 epochs (paper: 1.46 bpc)"),
    "lstm_ptbc_h475_paper": ("ptb.py", dict(_PTBC, cell="lstm", hidden=475, lr=1e-3,
                                            rmsprop_rho=0.99),
                             "LSTM H 475 on PTB characters, the asRNN README's baseline "
                             "(1.41 bpc)"),
    "stable_lstm_ptbc_h1024_paper": ("ptb.py", dict(_MH_CHAR, cell="stable_lstm", hidden=1024,
                                                    lr=20.0),
                                     "Miller & Hardt's char LM LSTM row: H 1024, embedding 400, "
                                     "dropout 0.1, weight decay 1e-6, batch 80, SGD 20, BPTT 150, "
                                     "clip 1, 300 epochs (no published number)"),
    "stable_rnn_ptbc_h768_paper": ("ptb.py", dict(_MH_CHAR, cell="stable_rnn", hidden=768,
                                                  lr=2.0),
                                   "Miller & Hardt's char LM RNN row: H 768, SGD 2"),
    "spectral_gru_ptbw_h650_paper": ("ptb.py", dict(_KANAI),
                                     "Kanai et al. on PTB words: GRU 650, delta 0.2, embedding "
                                     "650 x 0.01, dropout 0.5, BPTT 35, batch 20, SGD 1 / 1.1 per "
                                     "epoch after 10, 75 epochs (no published number)"),
    "stable_lstm_wt2_h1024_paper": ("wikitext.py", dict(
        _MH_WT2, cell="stable_lstm", hidden=1024, embedding_dim=512, output_dropout=0.65,
        dropout=0.65, lr=20.0, clipnorm=1.0),
        "Miller & Hardt's word LM LSTM row on WikiText-2: H 1024, embedding 512, dropout 0.65, "
        "SGD 20 (/4 on a plateau), clip 1, BPTT 35, batch 20, 40 epochs"),
    "stable_rnn_wt2_h256_paper": ("wikitext.py", dict(
        _MH_WT2, cell="stable_rnn", hidden=256, embedding_dim=1024, output_dropout=0.25,
        dropout=0.25, lr=2.0, clipnorm=0.25),
        "Miller & Hardt's word LM RNN row: H 256, embedding 1024, dropout 0.25, SGD 2, clip 0.25"),
    "stable_lstm_atis_h128_paper": ("atis.py", dict(_MH_ATIS, cell="stable_lstm"),
                                    "Miller & Hardt's slot-filling row: embedding 64, H 128, "
                                    "dropout 0.5, weight decay 1e-4, batch 128, SGD 10, clip 1, "
                                    "100 epochs"),
    "unstable_lstm_atis_h128_paper": ("atis.py", dict(_MH_ATIS, cell="stable_lstm",
                                                      unconstrained=True),
                                      "the same LSTM without the projection (the unstable "
                                      "counterpart)"),
    "stable_rnn_atis_h128_paper": ("atis.py", dict(_MH_ATIS, cell="stable_rnn"),
                                   "Miller & Hardt's slot-filling row with the stable RNN"),
    "stable_rnn_jsb_h1024_paper": ("polyphonic_music.py", dict(_MH_JSB, cell="stable_rnn",
                                                               lr=0.05),
                                   "Miller & Hardt's JSB RNN row: H 1024, SGD 0.05, clip 5, "
                                   "batch 1, dropout 0.1 (here the cell's input dropout), 100 "
                                   "epochs"),
}
"""name -> (script in training/, hyper-parameters, description)."""
