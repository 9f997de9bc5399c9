"""Tasks shared by the projects of the admin org (none yet)."""
