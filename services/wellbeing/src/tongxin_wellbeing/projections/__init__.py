"""Wellbeing's read model, built from registry.events and wellbeing.events."""
