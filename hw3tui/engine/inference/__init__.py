"""A trained model put to use: evaluation of a checkpoint (`evaluation`, with training's own
`evaluate`), predictions for a folder of images (`prediction`), and the augmentation preview
(`augment_preview`, run for the TUI as a child process by `augment_child`)."""
