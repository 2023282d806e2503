"""Developer tool: autogenerate an Alembic revision from the model.

Usage: .venv/bin/python scripts/new_migration.py "what changed"
It diffs the model against a scratch SQLite database upgraded to head.
"""

import sys
import tempfile
from pathlib import Path

from alembic import command

from orchestrator import db

with tempfile.TemporaryDirectory() as tmp:
    engine = db.make_engine(f"sqlite:///{Path(tmp) / 'scratch.db'}")
    db.upgrade(engine)
    command.revision(db._alembic_config(engine), message=sys.argv[1], autogenerate=True)
