item_id:token	plot:text
i2	Plot of two.
