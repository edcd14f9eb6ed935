"""Images in, tensors out: finding samples (`sources`), decoding and caching them (`datasets`,
`decoded_cache`), the built-in `shapes`, per-epoch batches (`batches`) and augmentation on the
batch (`augment`). Knows no training and no distribution: a data loader for any loop."""
