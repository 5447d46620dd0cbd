"""The bundled photographs, the data folder and preparing images for HA-CNN."""

import pytest
import torch

from tutorial_utils import data_dir, data_file, hacnn_batch, load_sample_image, sample_image_names
from tutorial_utils.common.images import DATA_DIR_VARIABLE, crop_to_aspect, normalize


def test_sample_images():
    names = sample_image_names()
    assert {"astronaut", "camera", "chelsea", "coffee", "grace_hopper"} <= set(names)
    image = load_sample_image("astronaut")
    assert image.shape == (3, 320, 320) and image.dtype == torch.float32
    assert image.min() >= 0 and image.max() <= 1
    with pytest.raises(ValueError, match="no sample image 'nope'"):
        load_sample_image("nope")


def test_crop_to_aspect_and_hacnn_batch():
    assert crop_to_aspect(torch.zeros(3, 320, 320), (160, 64)).shape == (3, 320, 128)
    assert crop_to_aspect(torch.zeros(3, 100, 400), (160, 64)).shape == (3, 100, 40)
    pictures, batch = hacnn_batch(["camera", "coffee"])
    assert pictures.shape == batch.shape == (2, 3, 160, 64)
    torch.testing.assert_close(normalize(pictures), batch)


def test_data_dir_is_the_package_folder_unless_overridden(tmp_path, monkeypatch):
    monkeypatch.delenv(DATA_DIR_VARIABLE, raising=False)
    assert data_dir().name == "data" and (data_dir() / "astronaut.jpg").is_file()
    assert data_file("astronaut.jpg") == data_dir() / "astronaut.jpg"
    monkeypatch.setenv(DATA_DIR_VARIABLE, str(tmp_path))
    assert data_dir() == tmp_path
    with pytest.raises(FileNotFoundError, match="no data file 'astronaut.jpg'"):
        data_file("astronaut.jpg")
    assert sample_image_names() == []


def test_a_bad_data_dir_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_VARIABLE, str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match=DATA_DIR_VARIABLE):
        data_dir()
