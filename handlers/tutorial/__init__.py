"""The tutorial around the step handlers: pages, forms, the click report, the inspector and error pages.

``actions.mount()`` serves a step's routes through ``StepRoute`` without
changing how the step's handlers are written.
"""
