"""The test_flow project of the emd org."""
