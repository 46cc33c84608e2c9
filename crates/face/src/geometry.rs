//! Image-space geometry: face boxes and landmark points (pixels, origin top-left).

use serde::{Deserialize, Serialize};

/// An image point in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    pub fn distance(&self, o: &Point) -> f64 {
        ((self.x - o.x).powi(2) + (self.y - o.y).powi(2)).sqrt()
    }
    pub fn midpoint(&self, o: &Point) -> Point {
        Point {
            x: (self.x + o.x) / 2.0,
            y: (self.y + o.y) / 2.0,
        }
    }
}

/// An axis-aligned face box in pixels; `right` and `bottom` are exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoundingBox {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

impl BoundingBox {
    pub fn width(&self) -> f64 {
        self.right - self.left
    }
    pub fn height(&self) -> f64 {
        self.bottom - self.top
    }
    pub fn area(&self) -> f64 {
        self.width().max(0.0) * self.height().max(0.0)
    }
    /// Intersection over union with another box.
    pub fn iou(&self, o: &BoundingBox) -> f64 {
        let i = BoundingBox {
            left: self.left.max(o.left),
            top: self.top.max(o.top),
            right: self.right.min(o.right),
            bottom: self.bottom.min(o.bottom),
        };
        let inter = if i.width() > 0.0 && i.height() > 0.0 {
            i.area()
        } else {
            0.0
        };
        let union = self.area() + o.area() - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }
}

impl std::fmt::Display for BoundingBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "({:.0},{:.0})-({:.0},{:.0})",
            self.left, self.top, self.right, self.bottom
        )
    }
}

/// dlib's five landmarks: two corners of each eye and the base of the nose.
/// Points 0–1 are the eye on the image's right, 2–3 the eye on the image's left, 4 the nose.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Landmarks5(pub [Point; 5]);

impl Landmarks5 {
    /// Centre of the eye on the image's left.
    pub fn left_eye(&self) -> Point {
        self.0[2].midpoint(&self.0[3])
    }
    /// Centre of the eye on the image's right.
    pub fn right_eye(&self) -> Point {
        self.0[0].midpoint(&self.0[1])
    }
    pub fn nose(&self) -> Point {
        self.0[4]
    }
    pub fn inter_eye_distance(&self) -> f64 {
        self.left_eye().distance(&self.right_eye())
    }
}
