"""Torch7's nn (with dpnn's training helpers, nngraph and rnn): modules and criterions.

Each family file declares ``__all__``; everything is reachable as ``nn.Name``.
"""

from .attention import *  # noqa: F403
from .bidirectional import *  # noqa: F403
from .container import *  # noqa: F403
from .conv import *  # noqa: F403
from .criterion import *  # noqa: F403
from .criterion_tables import *  # noqa: F403
from .dropout import *  # noqa: F403
from .embedding import *  # noqa: F403
from .graph import *  # noqa: F403
from .linear import *  # noqa: F403
from .module import Module  # noqa: F401
from .normalization import *  # noqa: F403
from .pooling import *  # noqa: F403
from .recurrent import *  # noqa: F403
from .reinforce import *  # noqa: F403
from .resampling import *  # noqa: F403
from .reshape import *  # noqa: F403
from .serial import *  # noqa: F403
from .softmaxtree import *  # noqa: F403
from .table import *  # noqa: F403
from .transfer import *  # noqa: F403
