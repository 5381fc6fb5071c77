from django.apps import AppConfig


class TrainingDataConfig(AppConfig):
    name = "training_data"
    verbose_name = "Training data"
