"""Morocco AI Watch: the pipeline library (no Airflow imports here; see aiwatch.airflow_bridge)."""

__version__ = "0.1.0"
