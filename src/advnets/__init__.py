"""advnets: generative adversarial networks (Goodfellow et al., 2014), reproduced and explained."""

__version__ = "0.1.0"
