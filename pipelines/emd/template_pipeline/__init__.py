"""The template_pipeline project of the emd org."""
