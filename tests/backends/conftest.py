"""Makes tests/backends/kernel_cases.py importable (``from kernel_cases import ...``): with
pytest's importlib import mode test folders are not on sys.path."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
