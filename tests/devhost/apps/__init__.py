"""Small Function Apps that the local-host tests run in a real `python -m shared.devhost` process."""
