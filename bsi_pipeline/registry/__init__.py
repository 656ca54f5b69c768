"""Model registry: MLflow tracking and registry (mlflow_store) and the champion/challenger
decisions that say which model version is served (decisions)."""
