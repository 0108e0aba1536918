package io.pgdolt.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

/** A PNG line chart of replication lag over time, one line per contender (Java2D, headless). */
final class LagChart {
    private static final Color[] COLORS = {
        new Color(0x1f77b4),
        new Color(0xd62728),
        new Color(0x2ca02c),
        new Color(0xff7f0e),
        new Color(0x9467bd),
        new Color(0x8c564b),
        new Color(0x17becf)
    };

    /** A lag sample: seconds since the phase started, lag in milliseconds. */
    record Point(double seconds, double lagMs) {}

    private LagChart() {}

    static void write(Path png, String title, Map<String, List<Point>> series) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int width = 1000;
        int height = 520;
        int left = 80;
        int right = 240;
        int top = 50;
        int bottom = 60;
        double maxX = 1;
        double maxY = 10;
        for (List<Point> points : series.values()) {
            for (Point p : points) {
                maxX = Math.max(maxX, p.seconds());
                maxY = Math.max(maxY, p.lagMs());
            }
        }
        maxY = niceCeiling(maxY);
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        int plotW = width - left - right;
        int plotH = height - top - bottom;
        g.setColor(new Color(0xdddddd));
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        for (int i = 0; i <= 5; i++) {
            int y = top + plotH - plotH * i / 5;
            g.setColor(new Color(0xdddddd));
            g.drawLine(left, y, left + plotW, y);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format("%.0f", maxY * i / 5), 10, y + 4);
        }
        for (int i = 0; i <= 5; i++) {
            int x = left + plotW * i / 5;
            g.drawString(String.format("%.0f s", maxX * i / 5), x - 10, top + plotH + 20);
        }
        g.setColor(Color.BLACK);
        g.drawRect(left, top, plotW, plotH);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString(title, left, 30);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawString("lag (ms): source commit -> visible on the replica", left, top + plotH + 45);
        int k = 0;
        for (Map.Entry<String, List<Point>> e : new LinkedHashMap<>(series).entrySet()) {
            Color c = COLORS[k % COLORS.length];
            g.setColor(c);
            g.setStroke(new BasicStroke(1.6f));
            int px = -1;
            int py = -1;
            for (Point p : e.getValue()) {
                int x = left + (int) (plotW * p.seconds() / maxX);
                int y = top + plotH - (int) (plotH * Math.min(p.lagMs(), maxY) / maxY);
                if (px >= 0) {
                    g.drawLine(px, py, x, y);
                }
                px = x;
                py = y;
            }
            int ly = top + 20 + 22 * k;
            g.fillRect(left + plotW + 15, ly - 9, 18, 10);
            g.setColor(Color.BLACK);
            g.drawString(e.getKey(), left + plotW + 40, ly);
            k++;
        }
        g.dispose();
        Files.createDirectories(png.toAbsolutePath().getParent());
        ImageIO.write(image, "png", png.toFile());
    }

    private static double niceCeiling(double v) {
        double magnitude = Math.pow(10, Math.floor(Math.log10(v)));
        for (double step : new double[] {1, 2, 2.5, 5, 10}) {
            if (step * magnitude >= v) {
                return step * magnitude;
            }
        }
        return 10 * magnitude;
    }
}
