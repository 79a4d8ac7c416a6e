"""複数のバイタル(systole の同時記録)。

読み込み(data)、欠測(missing)、課題(tasks)、図(plots)。
"""
