"""Evaluating a model: sampling the exported generator, metrics, dynamics, control, baselines, reports."""
