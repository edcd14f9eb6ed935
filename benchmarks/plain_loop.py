"""The baseline: a training loop written the way a course's homework template writes it.

ImageFolder + a PIL `transforms.Compose` applied image by image, a DataLoader, fp32 in the default
(NCHW) layout, `.item()` every step, an evaluation every epoch, the best model saved when the val
accuracy improves. Nothing here is deliberately slow: it is the ordinary way, kept readable so a
student recognises their own script in it. (The one change from a template: the best model is
saved with safetensors instead of `torch.save`, since this project allows no pickle; the cost is
the same.)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
import torchvision
from safetensors.torch import save_file
from torch import nn
from torch.utils.data import DataLoader
from torchvision import transforms
from torchvision.datasets import ImageFolder

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def train_plain(
    data_dir: Path,
    *,
    model_name: str,
    image_size: int,
    batch_size: int,
    epochs: int,
    optimizer_name: str,
    lr: float,
    padding: int,
    device: str,
    workers: int,
    out_dir: Path,
) -> dict[str, Any]:
    """Train on `data_dir/train`, evaluate on `data_dir/val` every epoch; what it measured."""
    started = time.perf_counter()
    train_tfm = transforms.Compose(
        [
            transforms.RandomHorizontalFlip(0.5),
            transforms.RandomCrop(image_size, padding=padding),
            transforms.RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.9, 1.1)),
            transforms.RandomGrayscale(0.1),
            transforms.ToTensor(),
            transforms.Normalize(MEAN, STD),
        ]
    )
    test_tfm = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    train_set = ImageFolder(str(data_dir / "train"), transform=train_tfm)
    val_set = ImageFolder(str(data_dir / "val"), transform=test_tfm)
    pin = device.startswith("cuda")
    train_loader = DataLoader(
        train_set, batch_size=batch_size, shuffle=True, num_workers=workers, pin_memory=pin
    )
    val_loader = DataLoader(
        val_set, batch_size=batch_size, shuffle=False, num_workers=workers, pin_memory=pin
    )

    model = torchvision.models.get_model(model_name, num_classes=len(train_set.classes))
    model = model.to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer: torch.optim.Optimizer = (
        torch.optim.Adam(model.parameters(), lr=lr)
        if optimizer_name == "adam"
        else torch.optim.SGD(model.parameters(), lr=lr)
    )

    best_acc, train_seconds, val_acc = 0.0, [], 0.0
    for _epoch in range(epochs):
        epoch_start = time.perf_counter()
        model.train()
        train_loss, train_accs = [], []
        for imgs, labels in train_loader:
            imgs, labels = imgs.to(device), labels.to(device)
            logits = model(imgs)
            loss = criterion(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            acc = (logits.argmax(dim=-1) == labels).float().mean()
            train_loss.append(loss.item())
            train_accs.append(acc.item())
        train_seconds.append(time.perf_counter() - epoch_start)

        model.eval()
        correct, total = 0, 0
        with torch.no_grad():
            for imgs, labels in val_loader:
                imgs, labels = imgs.to(device), labels.to(device)
                logits = model(imgs)
                correct += (logits.argmax(dim=-1) == labels).sum().item()
                total += labels.shape[0]
        val_acc = correct / total
        if val_acc > best_acc:
            best_acc = val_acc
            state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
            save_file(state, str(out_dir / "model_best.safetensors"))
    if pin:
        torch.cuda.synchronize()
    return {
        "wall": time.perf_counter() - started,
        "train_seconds": train_seconds,
        "train_images": len(train_set),
        "val_acc": val_acc,
        "best_val_acc": best_acc,
    }
