"""dump_db: stream a database table or query into the datalake and the warehouse."""

from pipelines.utils.dump_db.flows import create_dump_db_flow
from pipelines.utils.dump_db.tasks import dump_db_to_datalake

__all__ = ["create_dump_db_flow", "dump_db_to_datalake"]
