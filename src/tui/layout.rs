//! Where each panel sits. Pure geometry, shared by rendering and by mouse
//! hit-testing so a click lands on what was drawn.

use ratatui::layout::{Constraint, Direction, Layout, Rect};

use super::state::Panel;

/// The smallest terminal the dashboard draws in.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub clusters: Rect,
    pub groups: Rect,
    pub progress: Rect,
    pub checks: Rect,
    pub log: Rect,
    pub status: Rect,
}

impl Areas {
    pub fn of(&self, panel: Panel) -> Rect {
        match panel {
            Panel::Clusters => self.clusters,
            Panel::Groups => self.groups,
            Panel::Progress => self.progress,
            Panel::Checks => self.checks,
            Panel::Log => self.log,
        }
    }

    pub fn panel_at(&self, column: u16, row: u16) -> Option<Panel> {
        let position = ratatui::layout::Position::new(column, row);
        Panel::ALL
            .into_iter()
            .find(|panel| self.of(*panel).contains(position))
    }
}

pub fn too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

pub fn areas(area: Rect) -> Areas {
    let [body, status] = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Min(1), Constraint::Length(1)])
        .areas(area);
    let [top, middle, bottom] = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Percentage(34),
            Constraint::Percentage(30),
            Constraint::Percentage(36),
        ])
        .areas(body);
    let [clusters, groups] = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Percentage(38), Constraint::Percentage(62)])
        .areas(top);
    let [checks, log] = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Percentage(50), Constraint::Percentage(50)])
        .areas(bottom);
    Areas {
        clusters,
        groups,
        progress: middle,
        checks,
        log,
        status,
    }
}

/// Rows a bordered panel can show.
pub fn inner_height(rect: Rect) -> usize {
    usize::from(rect.height.saturating_sub(2))
}

/// The first row to show so that `selected` is visible in `height` rows.
pub fn window_start(selected: usize, len: usize, height: usize) -> usize {
    if height == 0 || len <= height {
        return 0;
    }
    selected
        .saturating_sub(height - 1)
        .min(len.saturating_sub(height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_tile_the_minimum_screen_and_clicks_find_them() {
        let areas = areas(Rect::new(0, 0, 80, 24));
        assert_eq!(areas.status, Rect::new(0, 23, 80, 1));
        for panel in Panel::ALL {
            let rect = areas.of(panel);
            assert!(rect.height >= 6, "{panel:?} is {rect:?}");
            assert_eq!(areas.panel_at(rect.x + 1, rect.y + 1), Some(panel));
        }
    }

    #[test]
    fn window_keeps_the_selection_visible() {
        assert_eq!(window_start(0, 100, 10), 0);
        assert_eq!(window_start(9, 100, 10), 0);
        assert_eq!(window_start(10, 100, 10), 1);
        assert_eq!(window_start(99, 100, 10), 90);
        assert_eq!(window_start(5, 3, 10), 0);
    }
}
