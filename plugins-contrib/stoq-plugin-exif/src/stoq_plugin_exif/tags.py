"""exifread's tags as plain JSON values, and the few an analyst asks for first."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

__all__ = ["gps_position", "plain", "summary"]

#: Result key → exifread tag name, in the order they are reported.
_SUMMARY = {
    "make": "Image Make",
    "model": "Image Model",
    "software": "Image Software",
    "artist": "Image Artist",
    "copyright": "Image Copyright",
    "description": "Image ImageDescription",
    "datetime": "Image DateTime",
    "datetime_original": "EXIF DateTimeOriginal",
    "datetime_digitized": "EXIF DateTimeDigitized",
    "lens": "EXIF LensModel",
    "body_serial": "EXIF BodySerialNumber",
    "owner": "EXIF CameraOwnerName",
}


def plain(value: Any, max_length: int) -> Any:
    """A tag value JSON can hold: numbers and text as they are, lists item by item, the rest
    (bytes, ratios) as text; text cut at ``max_length`` characters."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value if value == value else None  # NaN is not JSON
    if isinstance(value, (list, tuple)):
        return [plain(item, max_length) for item in value[:max_length]]
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("latin-1")
    return str(value)[:max_length]


def summary(tags: Dict[str, Any]) -> Dict[str, Any]:
    return {key: tags.get(name) for key, name in _SUMMARY.items()}


def _degrees(parts: Any, reference: Any, negative: str) -> Optional[float]:
    """Degrees, minutes, seconds (and a N/S or E/W reference) as signed decimal degrees."""
    if not isinstance(parts, list) or not parts:
        return None
    numbers: List[float] = [p for p in parts[:3] if isinstance(p, (int, float))]
    if len(numbers) != len(parts[:3]):
        return None
    value = sum(number / 60**index for index, number in enumerate(numbers))
    return round(-value if str(reference).upper() == negative else value, 7)


def gps_position(tags: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """Latitude and longitude in decimal degrees (and altitude in metres), if recorded."""
    latitude = _degrees(tags.get("GPS GPSLatitude"), tags.get("GPS GPSLatitudeRef"), "S")
    longitude = _degrees(tags.get("GPS GPSLongitude"), tags.get("GPS GPSLongitudeRef"), "W")
    if latitude is None or longitude is None:
        return None
    altitude = tags.get("GPS GPSAltitude")
    if isinstance(altitude, (int, float)) and tags.get("GPS GPSAltitudeRef") == 1:
        altitude = -altitude  # reference 1: below sea level
    return {
        "latitude": latitude,
        "longitude": longitude,
        "altitude": altitude if isinstance(altitude, (int, float)) else None,
    }
