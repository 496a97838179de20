"""Shared test settings."""

import torch

# The test models are tiny: one thread avoids oversubscribing small CI machines.
torch.set_num_threads(1)
