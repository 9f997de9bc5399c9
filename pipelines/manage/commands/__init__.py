"""manage.py commands by topic: projects, running, checking, deploy."""
