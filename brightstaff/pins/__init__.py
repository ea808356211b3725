"""Pin stores: where affinity decisions live (memory, Redis), behind one small interface."""
