"""The guest tier: tests that run inside a QEMU guest with an emulated Intel IOMMU."""
