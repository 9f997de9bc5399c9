"""What manage.py does: scaffold, discover, check, run; stdlib and click only at import."""
