from setuptools import find_packages, setup

setup(
    name="nst",
    version="0.2.0",
    description="Gatys et al. (2015) neural style transfer as an explicit tf.compat.v1 graph over VGG-19 (.mat)",
    license="Apache-2.0",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["nst", "nst.*"]),
    python_requires=">=3.9",
    install_requires=[
        "tensorflow>=2.13,<3",  # the Linux wheel runs on CPU, and on a GPU when CUDA is present
        "numpy>=1.23,<3",
        "scipy>=1.9,<2",
        "imageio>=2.28,<3",
        "pillow>=9.1",
        "matplotlib>=3.6,<4",
        "tqdm>=4.60,<5",
    ],
    extras_require={
        "test": ["pytest>=7,<10", "cryptography>=41",  # the download tests' expired TLS certificate
                 "nbclient>=0.7,<1", "nbformat>=5.7,<6", "ipykernel>=6.20,<8",
                 "ray>=2.9,<3",  # nst batch's tests, embedded and a two-node cluster
                 "gradio>=6.31,<7", "playwright>=1.40,<2",  # the web page and its real-browser test
                 "opencv-python-headless>=4.5,<6", "imageio-ffmpeg>=0.6,<1",  # nst video (its ffmpeg 7: -fps_mode)
                 "mypy>=1.5,<2"],  # the type check of the typed modules (tests/test_types.py)
        "notebook": ["notebook>=7,<8", "ipykernel>=6.20,<8"],  # Jupyter, to open notebooks/
        "cluster": ["ray>=2.9,<3"],  # nst batch: Ray, embedded or a cluster
        "video": ["opencv-python-headless>=4.5,<6", "imageio-ffmpeg>=0.6,<1"],  # nst video: DIS flow, ffmpeg 7+
        "app": ["gradio>=6.31,<7"],  # nst serve: the local web page
    },
    entry_points={"console_scripts": ["nst=nst.entry:main", "nst-train=nst.entry:train_main",
                                    "nst-download=nst.entry:download_main"]},
)
