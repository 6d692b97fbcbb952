"""Makes tests/nn/helpers.py importable (``from helpers import check_module_grads``): with
pytest's importlib import mode test folders are not on sys.path."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
