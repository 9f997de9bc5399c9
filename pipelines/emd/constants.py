"""Constants shared by the projects of the emd org."""

ORG = "emd"
