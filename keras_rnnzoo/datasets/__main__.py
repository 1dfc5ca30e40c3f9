"""python -m keras_rnnzoo.datasets prepare mnist ptb atis --data-dir D"""

import sys

from keras_rnnzoo.datasets.prepare import main

sys.exit(main())
