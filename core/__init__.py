"""What every app shares: errors, actors, the status switch, pagination, page helpers, SQL.

``core`` imports no app (studio, pipelines, endpoints); the apps import it. It is not a Django
app: it has no concrete models, migrations or URLs of its own.
"""
