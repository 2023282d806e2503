"""The image pipeline (`pyros pipeline`): masters, calibration, sources, WCS, photometry,
quality, and near-real-time error-box reports of alert images. Its own supervised process.
"""
